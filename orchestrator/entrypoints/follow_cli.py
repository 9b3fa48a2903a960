"""Following a project as it runs: `orchestrator watch`, and the wait of `submit --wait`.
Both read the projection, so both need the projector running."""

from __future__ import annotations

import os
import time

import psycopg
import typer
from rich.live import Live

from orchestrator.adapters import config
from orchestrator.core import exitcodes
from orchestrator.core.position import Token
from orchestrator.entrypoints.live_view import view
from orchestrator.entrypoints.read_cli import database, fail
from services.projections import views, waiting
from services.projections.main import reader_dsn

follow_app = typer.Typer()
TERMINAL = {"completed", "blocked", "rejected", "cancelled"}


def wait_for_outcome(token: Token, timeout: float, progress: bool = False) -> tuple[str, str, list[str]]:
    """`submit --wait`: read the outcome from the projection once it shows the submission;
    with `progress`, the live view `watch` shows while the project is under way."""

    schema = os.environ.get("ORCH_PROJECTION_SCHEMA", views.LIVE_SCHEMA)
    try:
        with views.connect(reader_dsn(config.load()), schema, autocommit=True, connect_timeout=5) as conn:
            if not progress:
                return waiting.wait_for_outcome(conn, schema, token, timeout)
            with Live(refresh_per_second=4) as live:

                def seen(project_id: str) -> None:
                    found = views.get_project(conn, project_id)
                    if found is not None:
                        live.update(view(found, views.list_events(conn, project_id, 100_000, None)[-8:]))

                return waiting.wait_for_outcome(conn, schema, token, timeout, seen)
    except psycopg.Error as exc:
        fail(f"cannot read the projections: {str(exc).splitlines()[0]}")
        raise  # unreachable: fail() exits


@follow_app.command()
def watch(project: str, timeout: float = typer.Option(600.0, help="seconds before giving up"),
          interval: float = typer.Option(0.5)) -> None:
    """A live view: a progress bar per module and the latest events, until the project ends.
    Exit code: 0 completed, 5 blocked, 6 cancelled, 7 timeout."""

    deadline = time.monotonic() + timeout
    last = "unknown"
    with database() as conn, Live(refresh_per_second=4) as live:
        while time.monotonic() < deadline:
            found = views.get_project(conn, project)
            if found is None:
                fail(f"no project {project!r}")
                return
            recent = views.list_events(conn, project, 100_000, None)[-8:]
            live.update(view(found, recent))
            conn.commit()
            last = found["status"]
            if found["status"] in TERMINAL:
                break
            time.sleep(interval)
        else:
            fail(f"{project} still {last} after {timeout:.0f}s", exitcodes.TIMEOUT)
    if last != "completed":
        typer.echo(f"{project}: {last}", err=True)
    raise typer.Exit(exitcodes.BY_STATUS.get(last, exitcodes.FAILED))

