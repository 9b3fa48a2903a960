"""`orchestrator project pause|resume|cancel PROJECT`: an operator's control from the shell."""

from __future__ import annotations

import typer

from orchestrator import config

project_app = typer.Typer(no_args_is_help=True, help="Pause, resume or cancel a project.")
ReasonOpt = typer.Option("", "--reason", help="why (kept in the event)")


def _act(action: str, project: str, reason: str) -> None:
    from orchestrator import control
    from orchestrator.bus import Publisher
    from orchestrator.read_cli import database, fail

    with database() as conn:
        row = conn.execute("SELECT status, request_id FROM projects WHERE project_id = %s",
                           [project]).fetchone()
    if row is None:
        fail(f"no project {project}")
        return
    try:
        event = control.event(action, project, row[1], row[0], reason, who="cli")
    except control.Refused as exc:
        fail(str(exc))
        return
    publisher = Publisher(config.load())
    try:
        publisher.publish_sync([event])
    finally:
        publisher.close()
    typer.echo(f"{project}: {event.type} ({event.event_id})")


@project_app.command("pause")
def pause(project: str, reason: str = ReasonOpt) -> None:
    """Nothing new is claimed; running tasks finish; the Monitor's clocks stop."""
    _act("pause", project, reason)


@project_app.command("resume")
def resume(project: str, reason: str = ReasonOpt) -> None:
    """Claims go on; deadlines extended by the time paused."""
    _act("resume", project, reason)


@project_app.command("cancel")
def cancel(project: str, reason: str = ReasonOpt) -> None:
    """Running tasks are cancelled (a command's process group killed); the project ends."""
    _act("cancel", project, reason)
