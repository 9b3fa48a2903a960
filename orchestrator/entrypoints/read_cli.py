"""What every read command shares: a connection to the projections, failing with an exit
code, and output as a table or as JSON. The commands live in one module per group."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import typer
from rich.console import Console
from rich.table import Table

from orchestrator.adapters import config
from orchestrator.core import exitcodes
from services.projections import views
from services.projections.main import reader_dsn

JsonOpt = typer.Option(False, "--json", help="machine-readable output")


def fail(message: str, code: int = exitcodes.FAILED) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def database() -> Iterator[psycopg.Connection[Any]]:

    settings = config.load()
    try:
        dsn = reader_dsn(settings)
        conn = views.connect(dsn, os.environ.get("ORCH_PROJECTION_SCHEMA", views.LIVE_SCHEMA))
    except (RuntimeError, psycopg.Error) as exc:
        fail(f"cannot read the projections: {str(exc).splitlines()[0]}")
        raise  # unreachable: fail() exits
    with conn:
        yield conn


def emit(data: Any, as_json: bool, table: Table | None = None, wide: bool = False) -> None:
    if as_json or table is None:
        typer.echo(json.dumps(data, indent=2, default=str))
    else:  # wide: as wide as the rows need, whatever the terminal's width
        Console(width=WIDE if wide else None).print(table)


WIDE = 1_000
IDS = {"task_id", "project_id", "event_id", "request_id"}  # wrapped when narrow, never cut short


def _table(title: str, rows: list[dict[str, Any]], columns: list[str]) -> Table:
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold" if column in IDS else "ellipsis")
    for row in rows:
        table.add_row(*[cell(row.get(c)) for c in columns])
    return table


def cell(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return "" if value is None else str(value)
