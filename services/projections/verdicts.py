"""A person's verdict on a manual task (API and CLI share this): check, store, deliver.

The projection says which claim is current: the task must be `started` (claimed by a
worker) after its latest assignment or hand-off, and that must use the `manual` executor (a
verdict on the claim a hand-off superseded would be ignored by the worker). The verdict names that
(attempt, round); artifacts are put in the store first and travel as references.
"""

from __future__ import annotations

from typing import Any

import psycopg

from orchestrator.adapters import artifacts, callbacks
from orchestrator.adapters.config import Settings
from orchestrator.core.envelope import Attachment
from services.projections import views


class Refused(ValueError):
    """Not now: `status` is the HTTP status that says why (404 unknown, 409 not waiting)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def latest_assignment(conn: psycopg.Connection[Any], task_id: str) -> tuple[str | None, bool]:
    """The executor of the task's latest assignment or hand-off, and whether a claim started
    after it (a project's events share a partition, so the offset orders them)."""
    row = conn.execute(
        "SELECT e.payload->'executor'->>'kind', EXISTS (SELECT 1 FROM events s WHERE s.type = 'task.started' "
        "AND s.payload->>'task_id' = %s AND (s.partition, s.\"offset\") > (e.partition, e.\"offset\")) "
        "FROM events e WHERE e.type IN ('task.assigned', 'task.reassigned') AND e.payload->>'task_id' = %s "
        'ORDER BY e.partition DESC, e."offset" DESC LIMIT 1',
        [task_id, task_id]).fetchone()
    return (row[0], bool(row[1])) if row else (None, False)


def manual_verdict(conn: psycopg.Connection[Any], settings: Settings, task_id: str, ok: bool,
                   note: str = "", attached: list[Attachment] | None = None,
                   failures: tuple[str, ...] = ()) -> tuple[callbacks.Verdict, tuple[str, int, int]]:
    """The verdict delivered, and where it landed (topic, partition, offset)."""
    task = views.get_task(conn, task_id)
    if task is None:
        raise Refused(404, f"no task {task_id}")
    kind, claimed = latest_assignment(conn, task_id)
    if kind != "manual":
        raise Refused(409, f"task {task_id} runs the {kind or 'unknown'} executor, not manual")
    if task["status"] != "started":
        raise Refused(409, f"task {task_id} is {task['status']}, not waiting for a person "
                           "(claimed tasks are `started`)")
    if not claimed:  # handed over: the claim `started` names is the superseded one
        raise Refused(409, f"task {task_id} was handed to a person; its new claim has not started yet")
    refs = tuple(artifacts.store(settings.artifacts, a) for a in attached or [])
    verdict = callbacks.Verdict(task_id, int(task["attempt"]), int(task["round"]), ok,
                                note or ("completed by hand" if ok else "failed by hand"), "manual",
                                failures=failures, artifacts=refs)
    return verdict, callbacks.publish(settings, verdict)
