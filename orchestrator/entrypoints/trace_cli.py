"""`orchestrator trace`: a submission's causal tree (causal_cli), or `--project` the
traceability of each FR/NFR (attempts, QA verdicts, reworks, deployments), shown or exported
with a manifest of digests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from orchestrator.entrypoints.causal_cli import causal_tree
from orchestrator.entrypoints.read_cli import JsonOpt, database, fail
from services.projections import traceability, views

trace_app = typer.Typer()


@trace_app.command("trace")
def trace(request_id: str | None = typer.Argument(None, help="a submission: show its causal tree"),
          project: str | None = typer.Option(None, "--project", help="a project: trace its requirements"),
          as_json: bool = JsonOpt,
          export: str | None = typer.Option(None, help="write traceability.json, .csv and manifest.json here")
          ) -> None:
    """The causal tree of a submission, or (`--project`) the traceability of each FR/NFR:
    every attempt, QA verdict, rework and deployment."""
    if request_id is not None:
        return causal_tree(request_id, as_json)
    if project is None:
        fail("give a REQUEST_ID or --project")
        return
    with database() as conn:
        rows = views.project_events(conn, project)
    if not rows:
        fail(f"no project {project}")
    reqs = traceability.trace(rows)
    body = json.dumps({"project_id": project, "requirements": reqs}, indent=2).encode()
    if export:
        files = {"traceability.json": body, "traceability.csv": traceability.to_csv(reqs).encode()}
        out = Path(export)
        out.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (out / name).write_bytes(data)
        (out / "manifest.json").write_text(json.dumps(traceability.manifest(reqs, files), indent=2))
    if as_json:
        typer.echo(body.decode())
        return
    Console().print(_requirements_table(project, reqs))


def _requirements_table(project: str, reqs: list[dict[str, Any]]) -> Table:
    table = Table(title=f"traceability of {project}")
    for column in ("requirement", "title", "status", "dev attempts", "QA pass/fail", "reworks",
                   "deploys", "smoke failed", "verified at"):
        table.add_column(column)
    for req in reqs:
        s = traceability.summary(req)
        table.add_row(req["requirement"], req["title"], req["status"], str(s["dev_attempts"]),
                      f"{s['qa_passed']}/{s['qa_failed']}", str(s["reworks"]), str(s["deploys"]),
                      str(s["smoke_failed"]), str(req["verified_at"] or "-"))
    return table
