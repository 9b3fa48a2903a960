"""`orchestrator submit`: a spec onto the ingestion topic, or through the API with ORCH_API_URL;
with `--wait`, how the submission ended, read from the projection, as the exit code."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from confluent_kafka import KafkaException

from orchestrator.adapters import client, config
from orchestrator.core import exitcodes
from orchestrator.entrypoints.follow_cli import wait_for_outcome
from orchestrator.entrypoints.read_cli import fail


def submit(
    spec: Path = typer.Argument(..., help="a YAML or JSON spec"),
    wait: bool = typer.Option(False, help="wait (on the projection) until the project completes or is "
                                          "blocked; needs the projector running"),
    timeout: float = typer.Option(300.0, help="seconds to wait with --wait"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
    progress: bool | None = typer.Option(None, "--progress/--no-progress",
                                         help="with --wait, a live view of the modules and the latest "
                                              "events (default: when stdout is a terminal, without --json)"),
) -> None:
    """Submit a spec to the ingestion topic (or, with ORCH_API_URL, through the API with the token
    in ORCH_TOKEN); prints its request id and position token. With --wait, the exit code says
    how it ended: 0 completed, 4 rejected, 5 blocked, 6 cancelled, 7 timeout."""
    if not spec.is_file():
        fail(f"no such file: {spec}")
    settings = config.load()
    size = spec.stat().st_size
    if size > settings.max_spec_bytes:
        fail(f"{spec} is {size:,} bytes; specs are limited to {settings.max_spec_bytes:,} "
             "(ORCH_MAX_SPEC_BYTES)")
    try:
        if settings.api_url:  # through the API, as the token in ORCH_TOKEN
            request_id, token = client.submit_via_api(settings, settings.api_url, spec.read_bytes(),
                                                      spec.name)
        else:
            event, token = client.submit_document(settings, spec.read_bytes(), spec.name)
            request_id = event.request_id
    except (KafkaException, RuntimeError, OSError) as exc:
        fail(f"could not submit {spec}: {exc}")
        raise
    outcome, project, errors = "submitted", "", list[str]()
    if wait:
        live = (sys.stdout.isatty() and not as_json) if progress is None else progress
        outcome, project, errors = wait_for_outcome(token, timeout, live)
    if as_json:
        typer.echo(json.dumps({"request_id": request_id, "position": token.encode(),
                               "project_id": project, "outcome": outcome, "errors": errors}))
    else:
        typer.echo(f"request {request_id}: {outcome} {project}".rstrip())
        typer.echo(f"position {token.encode()}")
        for line in errors:
            typer.echo(f"  {line}", err=True)
    raise typer.Exit(exitcodes.BY_OUTCOME.get(outcome, exitcodes.OK))
