"""Whether the projection shows a write yet, and waiting until it does (woken by the
projector's NOTIFY after each commit, not by polling the log).

The token kinds (`orchestrator.core.position`) and what the read model shows for each:
- a submission: SPEC's answer to its request id (`project.created` or `spec.rejected`);
- a verdict: its claim (task, attempt, round) settled, or a later claim of the task.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import psycopg

from orchestrator.core.position import Token
from services.projections import writes

SUBMISSION = ("SELECT EXISTS (SELECT 1 FROM events WHERE request_id = %s "
              "AND type IN ('project.created', 'spec.rejected'))")
VERDICT = ("SELECT EXISTS (SELECT 1 FROM tasks WHERE task_id = %s AND ((attempt, round) > (%s, %s) "
           "OR (attempt, round) = (%s, %s) AND status <> 'started'))")
REACHED = "SELECT partition, next_offset FROM positions WHERE topic = %s ORDER BY partition"
OUTCOME = ("SELECT (SELECT errors::text FROM rejections WHERE request_id = %s), "
           "(SELECT json_build_array(project_id, status)::text FROM projects WHERE request_id = %s "
           "ORDER BY created_at, project_id LIMIT 1)")
ENDS = {"completed": "project.completed", "blocked": "project.blocked", "rejected": "spec.rejected",
        "cancelled": "project.cancelled"}
RECHECK = 1.0  # seconds: a waiter rechecks at least this often, notification or not


def check(token: Token) -> tuple[str, list[Any]]:
    """The statement that answers whether the projection shows the write `token` names."""
    if token.task is not None:
        task, attempt, round_ = token.task
        return VERDICT, [task, attempt, round_, attempt, round_]
    return SUBMISSION, [token.request_id]


def until(conn: psycopg.Connection[Any], schema: str, done: Callable[[], bool], deadline: float) -> bool:
    """Recheck `done` after each projector commit until it holds (True) or `deadline` (False).
    `conn` must be in autocommit: notifications arrive between transactions only."""
    conn.execute(f"LISTEN {writes.channel(schema)}")
    while not _holds(done):
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        for _ in conn.notifies(timeout=min(left, RECHECK), stop_after=1):
            pass
    return True


def _holds(done: Callable[[], bool]) -> bool:
    try:
        return done()
    except psycopg.errors.UndefinedTable:  # the projector has not created its schema yet
        return False


def outcome(conn: psycopg.Connection[Any], request_id: str) -> tuple[str | None, str, list[str]]:
    """(terminal event type or None while under way, project id, rejection errors)."""
    row = conn.execute(OUTCOME, [request_id, request_id]).fetchone()
    assert row is not None  # scalar subqueries: always one row
    if row[0] is not None:
        return "spec.rejected", "", [f"{e['path']}: {e['message']}" for e in json.loads(row[0])]
    if row[1] is None:
        return None, "", []
    project_id, status = json.loads(row[1])
    return ENDS.get(status), project_id, []


def wait_for_outcome(conn: psycopg.Connection[Any], schema: str, token: Token, timeout: float,
                     seen: Callable[[str], None] | None = None) -> tuple[str, str, list[str]]:
    """`submit --wait`: the submission's token first, then the project's end; "timeout" else.
    `seen(project_id)` is called after each look while the project is under way."""
    deadline = time.monotonic() + timeout
    query, params = check(token)
    found: list[tuple[str | None, str, list[str]]] = []

    def shown() -> bool:
        row = conn.execute(query, params).fetchone()
        return bool(row and row[0])

    def ended() -> bool:
        found[:] = [outcome(conn, str(token.request_id))]
        if seen is not None and found[0][1]:
            seen(found[0][1])
        return found[0][0] is not None

    if until(conn, schema, shown, deadline) and until(conn, schema, ended, deadline):
        kind, project, errors = found[0]
        return str(kind), project, errors
    return "timeout", found[0][1] if found else "", []
