"""The `orchestrator` command: one Typer app; each group lives beside the code it drives."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from orchestrator.adapters import client, config, kafka_topics, stack
from orchestrator.core import actors, exitcodes, schemas
from orchestrator.entrypoints import demo as demo_run
from orchestrator.entrypoints.control_cli import approval_app, project_app
from orchestrator.entrypoints.dlq import dlq_app
from orchestrator.entrypoints.kafka_cli import kafka_app
from orchestrator.entrypoints.org_cli import org_app
from orchestrator.entrypoints.projections_cli import projections_app
from orchestrator.entrypoints.read_cli import (
    read_app,
    wait_for_outcome,
)
from orchestrator.entrypoints.services import run_service
from orchestrator.entrypoints.stack_cli import stack_app
from orchestrator.entrypoints.task_cli import artifacts_app, task_app
from orchestrator.entrypoints.tokens_cli import tokens_app

app = typer.Typer(no_args_is_help=True, add_completion=True, help="Event-driven delivery orchestrator.",
                  epilog="Exit codes: 0 ok, 1 failed, 2 usage, 3 integrity, 4 rejected, 5 blocked, "
                         "6 cancelled, 7 timeout, 8 refused (README: CLI exit codes).")

SERVICES = actors.SERVICES
AREAS = (*actors.AREAS, actors.ALL)

app.add_typer(stack_app, name="stack")


def _version(shown: bool) -> None:
    if shown:
        from importlib.metadata import version

        typer.echo(f"orchestrator {version('delivery-orchestrator')}")
        raise typer.Exit(exitcodes.OK)


@app.callback()
def options(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Event-driven delivery orchestrator."""


@app.command()
def service(
    name: str = typer.Argument(..., help=f"one of: {', '.join(SERVICES)}"),
    area: str = typer.Option("all", help="backend | web | mobile | all"),
) -> None:
    """Run one service in the foreground (the entrypoint each container runs)."""
    if name not in SERVICES:
        raise typer.BadParameter(f"unknown service {name!r}; expected one of {', '.join(SERVICES)}")
    if area not in AREAS:
        raise typer.BadParameter(f"unknown area {area!r}; expected one of {', '.join(AREAS)}")

    run_service(name, area)


COMPLETE_VAR = "_ORCHESTRATOR_COMPLETE"


def main() -> None:
    # Click spells the completion instruction `bash_source`, Typer `source_bash`: take both
    shell, _, instruction = os.environ.get(COMPLETE_VAR, "").partition("_")
    if shell in ("bash", "zsh", "fish") and instruction in ("source", "complete"):
        os.environ[COMPLETE_VAR] = f"{instruction}_{shell}"
    app(prog_name="orchestrator")



app.add_typer(read_app)
app.add_typer(org_app)
app.add_typer(projections_app, name="projections", help="The PostgreSQL read models.")
app.add_typer(dlq_app, name="dlq", help="Dead letters: inspect and re-drive.")
app.add_typer(task_app, name="task", help="Settle a manual task by hand.")
app.add_typer(project_app, name="project", help="Pause, resume or cancel a project.")
app.add_typer(approval_app, name="approval", help="The approvals the policy asks for.")
app.add_typer(artifacts_app, name="artifacts", help="Fetch and verify artifacts.")
app.add_typer(tokens_app, name="tokens")
app.add_typer(kafka_app, name="kafka")

topics_app = typer.Typer(no_args_is_help=True, help="Kafka topics.")
schemas_app = typer.Typer(no_args_is_help=True, help="The Avro event catalog.")
app.add_typer(topics_app, name="topics")
app.add_typer(schemas_app, name="schemas")


def fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


@topics_app.command("create")
def topics_create() -> None:
    """Create the event log, ingestion, dead-letter and changelog topics (idempotent)."""

    created = kafka_topics.provision(config.load(), changelogs=True)
    typer.echo(f"created: {', '.join(created) or 'nothing (all exist)'}")


@schemas_app.command("check")
def schemas_check() -> None:
    """Fail unless the current schemas read every shipped version (backward-transitive)."""

    problems = schemas.check()
    for p in problems:
        typer.echo(f"{p.version}: {p.message}", err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"ok: current schema reads all {len(schemas.load_history())} shipped versions")


@schemas_app.command("freeze")
def schemas_freeze() -> None:
    """Record the current schema as a shipped version in schemas/history."""

    path = schemas.freeze()
    typer.echo(f"recorded {path}" if path else "already recorded")


@app.command()
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
    import json

    from confluent_kafka import KafkaException


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


@app.command()
def demo(
    spec: Path = typer.Option(Path("examples/specs/shop.yaml"), help="the spec to run"),
    keep: bool = typer.Option(False, help="leave the stack and services running afterwards"),
    timeout: float = typer.Option(180.0, help="seconds before giving up"),
    as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
) -> None:
    """Start the stack and every service, run a spec to its end, summarize."""
    import json
    import time


    if not spec.is_file():
        fail(f"no such spec: {spec}")
    settings = config.load()
    began = time.monotonic()
    try:
        stack.up(settings)
    except stack.StackError as exc:
        fail(str(exc))
    kafka_topics.provision(settings)  # before any service starts: each one checks its topics at start
    fleet = demo_run.Fleet(settings)
    try:
        demo_run.start_actors(fleet)
        api = demo_run.start_read_side(fleet)
        typer.echo(f"services started: {', '.join(fleet.procs)}; submitting {spec}")
        outcome, events = demo_run.run(settings, spec, timeout, echo=not as_json)
        project = next((e.project_id for e in events if e.type == "project.created"), "")
        terminal = outcome.removeprefix("project.")
        read = demo_run.read_model(settings, project, terminal, 30) if project else {}
        dead = fleet.dead()
    finally:
        if not keep:
            fleet.stop()
            stack.down(settings)
    summary = {"outcome": outcome, "project": project, "seconds": round(time.monotonic() - began, 1),
               **read, **demo_run.summarize(events), "dead_services": dead,
               "artifact_root": settings.artifacts, "logs": str(settings.run_dir / "logs"),
               "api": f"{api}/projects/{project}" + ("" if keep else " (stopped; --keep leaves it up)")}
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        for key, value in summary.items():
            typer.echo(f"{key:>16}: {value}")
    if outcome != "project.completed":
        raise typer.Exit(1)


if __name__ == "__main__":
    main()
