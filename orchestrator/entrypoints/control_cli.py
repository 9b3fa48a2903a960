"""An operator's controls from the shell: `orchestrator project pause|resume|cancel PROJECT
[--module AREA]`,
`orchestrator approval list|grant|reject`, `orchestrator task reassign TASK --executor KIND`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from orchestrator.adapters import config
from orchestrator.adapters.bus import Publisher
from orchestrator.adapters.wallclock import now_ms
from orchestrator.core import control
from orchestrator.core.envelope import Event
from orchestrator.entrypoints.read_cli import _table, database, emit, fail
from services.projections import views

project_app = typer.Typer(no_args_is_help=True, help="Pause, resume or cancel a project.")
approval_app = typer.Typer(no_args_is_help=True, help="The approvals the policy asks for.")
ReasonOpt = typer.Option("", "--reason", help="why (kept in the event)")
ModuleOpt = typer.Option(None, "--module", help="act on this module (area) only")


def _publish(read: str | None, key: str, what: str, build: Callable[[dict[str, Any]], Event],
             *more: str) -> None:
    """Check `key`'s row in the read model (`read`: one JSON row, keyed by `key` and `more`),
    build the event, produce it."""

    with database() as conn:
        row = views.fetch(conn, read or views.PROJECT_CONTROL, [key, *more, None])
    if row is None:
        fail(f"no {what} {key}")
        return
    try:
        event = build(row)
    except control.Refused as exc:
        fail(str(exc))
        return
    publisher = Publisher(config.load())
    try:
        publisher.publish_sync([event])
    finally:
        publisher.close()
    typer.echo(f"{key}: {event.type} ({event.event_id})")


def _act(action: str, project: str, reason: str, module: str | None) -> None:

    if module is not None:
        _publish(views.MODULE_CONTROL, project, f"module {module} in project",
                 lambda row: control.module_event(action, row, reason, who="cli", now_ms=now_ms()),
                 module)
        return
    _publish(None, project, "project", lambda row: control.event(
        action, project, row["request_id"], row["status"], reason, who="cli", now_ms=now_ms(),
        tenant=row.get("tenant")))


@project_app.command("pause")
def pause(project: str, reason: str = ReasonOpt, module: str | None = ModuleOpt) -> None:
    """Nothing new is claimed (of the module's tasks with --module); running tasks finish;
    the Monitor's clocks stop."""
    _act("pause", project, reason, module)


@project_app.command("resume")
def resume(project: str, reason: str = ReasonOpt, module: str | None = ModuleOpt) -> None:
    """Claims go on; deadlines extended by the time paused."""
    _act("resume", project, reason, module)


@project_app.command("cancel")
def cancel(project: str, reason: str = ReasonOpt, module: str | None = ModuleOpt) -> None:
    """Running tasks are cancelled (a command's process group killed); the project ends (with
    --module: that module ends blocked, the others go on and the project ends blocked)."""
    _act("cancel", project, reason, module)


@approval_app.command("list")
def list_approvals(project: str | None = typer.Option(None, "--project"),
                   status: str | None = typer.Option("pending", "--status", help="pending, granted, "
                                                     "rejected; empty for all"),
                   as_json: bool = typer.Option(False, "--json")) -> None:
    """The approvals asked, oldest first (by default those waiting for a person)."""
    import json


    query, params = views.page("approvals", {"project_id": project, "status": status or None},
                               None, 1000)
    with database() as conn:
        row = conn.execute(query, params).fetchone()
    rows = json.loads(row[1]) if row else []
    emit(rows, as_json, _table("approvals", rows, ["approval_id", "task_id", "gate", "status",
                                                    "requested_at"]))


def _answer(action: str, approval: str, reason: str) -> None:

    _publish(views.APPROVAL, approval, "approval",
             lambda row: control.answer(action, row, reason, who="cli", now_ms=now_ms()))


@approval_app.command("grant")
def grant(approval: str, reason: str = ReasonOpt) -> None:
    """The gated work goes ahead: the worker claims what waited."""
    _answer("grant", approval, reason)


@approval_app.command("reject")
def reject(approval: str, reason: str = ReasonOpt) -> None:
    """The gated work never happens: the module ends blocked, its open tasks cancelled."""
    _answer("reject", approval, reason)


def reassign(task: str, kind: str, options: list[str], reason: str) -> None:
    """`orchestrator task reassign`: hand the task to an executor of `kind`."""

    pairs = dict(o.split("=", 1) for o in options if "=" in o)
    if len(pairs) != len(options):
        fail("an option is KEY=VALUE")
    _publish(views.HANDOFF, task, "task",
             lambda row: control.reassign(row, kind, pairs, reason, who="cli", now_ms=now_ms()))
