"""`orchestrator report`: the delivery metrics (lead time, deploy frequency, change-failure
rate, time to restore) per project and area, computed from the log's delivery events."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from orchestrator.entrypoints.read_cli import JsonOpt, database, fail
from services.projections import delivery, views

delivery_app = typer.Typer()


@delivery_app.command("report")
def report(project: str | None = typer.Option(None, help="one project; all if omitted"),
           as_json: bool = JsonOpt) -> None:
    """The delivery report: lead time, deploy frequency, change-failure rate and time to
    restore, per project and area, computed from the log."""

    with database() as conn:
        rows = views.delivery_events(conn, list(delivery.TYPES), project)
    if project is not None and not rows:
        fail(f"no delivery events of project {project}")
    found = delivery.metrics(rows)
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    table = Table(title="delivery report")
    columns = ("deployed_requirements", "lead_time_median_s", "deploys", "deploys_per_day",
               "change_failure_rate", "time_to_restore_median_s")
    for column in ("scope", *columns):
        table.add_column(column)
    for scope in ("projects", "areas"):
        for key, keys in found[scope].items():
            table.add_row(key, *("-" if keys[c] is None else str(keys[c]) for c in columns))
    Console().print(table)
