"""`orchestrator events`: a project's timeline, or everything one submission caused with the
evidence of each task (its attempts, and each artifact with its digest and size)."""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from orchestrator.entrypoints.read_cli import JsonOpt, _table, cell, database, emit, fail
from services.projections import evidence, views

evidence_app = typer.Typer()


@evidence_app.command()
def events(project: str = typer.Argument(None), request: str = typer.Option(None, help="a request id"),
           as_json: bool = JsonOpt) -> None:
    """The timeline of a project, or everything one submission caused (--request): then also
    every task with its attempts and the artifacts of each, with their digests."""

    if (project is None) == (request is None):
        fail("give a PROJECT or --request ID")
    with database() as conn:
        if request is not None:
            rows, found, _ = views.request(conn, request)
            if not rows:
                fail(f"no events for request {request!r}")
            data: Any = {"request_id": request, "events": rows, "tasks": evidence.by_task(rows, found)}
        else:
            rows = views.list_events(conn, project, 100_000, None)
            if not rows:
                fail(f"no events for project {project!r}")
            data = rows
    for row in rows:
        row["artifacts"] = ", ".join(f"{a['name']} sha256:{a['sha256'][:12]}" for a in row["artifacts"])
    emit(data, as_json, _table(f"events of {request or project}", rows,
                               ["occurred_at", "type", "actor_role", "actor_area", "artifacts"]))
    if request is not None and not as_json:
        Console().print(_evidence_table(request, data["tasks"]))


def _evidence_table(request: str, tasks: list[dict[str, Any]]) -> Table:
    table = Table(title=f"evidence of {request}")
    for column in ("task", "attempt", "rounds", "events", "artifacts (sha256, size)"):
        table.add_column(column)
    for task in tasks:
        for attempt in task["attempts"]:
            kinds = [e["type"] for e in attempt["events"]]
            refs = "\n".join(f"{a['name']} r{a['round']} {a['sha256']} {a['size']}B {a['uri']}"
                             for a in attempt["artifacts"])
            table.add_row(task["task_id"], str(attempt["attempt"]), cell(attempt["rounds"]),
                          cell(kinds), refs)
    return table
