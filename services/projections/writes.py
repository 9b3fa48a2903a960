"""The projector's SQL: load the rows a batch touches, then write each changed row once.

One statement per table and batch: upserts take their rows as one JSON array
(`jsonb_populate_recordset`), event rows go in by COPY; the caller holds the transaction
that also moves the positions. Statements are unqualified (the connection's search_path
names the schema).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any

import orjson
import psycopg
from psycopg.rows import dict_row

from orchestrator.core.envelope import Event
from services.projections import org
from services.projections.rowset import Keys, Position, Rows, tenant_of, timestamp

EVENT_COLUMNS = ('event_id, topic, partition, "offset", type, project_id, request_id, causation_id, '
                 "actor_role, actor_area, actor_instance, occurred_at, artifacts, payload, tenant")
COLUMNS = {
    "projects": ("project_id", "name", "status", "request_id", "spec_uri", "spec_sha256", "modules",
                 "created_at", "updated_at", "tenant"),
    "modules": ("project_id", "area", "status", "backlog_total", "tasks_total", "tasks_verified",
                "updated_at"),
    "tasks": ("task_id", "project_id", "area", "role", "title", "status", "verified", "attempt", "round",
              "assignee", "deadline_ms", "requirement_ids", "updated_at", "tenant"),
    "approvals": ("approval_id", "project_id", "request_id", "task_id", "area", "role", "gate", "status",
                  "attempt", "round", "deadline_ms", "reason", "decided_by", "requested_at", "decided_at",
                  "tenant"),
}
KEYS = {"projects": ("project_id",), "modules": ("project_id", "area"), "tasks": ("task_id",),
        "approvals": ("approval_id",)}


def _upsert(table: str) -> str:
    rest = [c for c in COLUMNS[table] if c not in KEYS[table]]
    return (f"INSERT INTO {table} SELECT * FROM jsonb_populate_recordset(NULL::{table}, %s::jsonb) "
            f"ON CONFLICT ({', '.join(KEYS[table])}) DO UPDATE SET ({', '.join(rest)}) = "
            f"ROW({', '.join('EXCLUDED.' + c for c in rest)})")


def _insert_new(table: str) -> str:
    return (f"INSERT INTO {table} SELECT * FROM jsonb_populate_recordset(NULL::{table}, %s::jsonb) "
            "ON CONFLICT DO NOTHING")


SQL = {
    "lock_positions": "LOCK TABLE positions IN SHARE ROW EXCLUSIVE MODE",
    "positions": "SELECT partition, next_offset FROM positions WHERE topic = %s",
    "position": """INSERT INTO positions SELECT %s, unnest(%s::int[]), unnest(%s::bigint[])
        ON CONFLICT (topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset""",
    "known_events": "SELECT event_id FROM events WHERE event_id = ANY(%s)",
    "dead_letter": """INSERT INTO dead_letters (topic, partition, "offset", error)
        VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING""",
    "copy_events": f"COPY events ({EVENT_COLUMNS}) FROM STDIN",
    "load_projects": f"SELECT {', '.join(COLUMNS['projects'])} FROM projects WHERE project_id = ANY(%s)",
    "load_modules": f"SELECT {', '.join(COLUMNS['modules'])} FROM modules WHERE project_id = ANY(%s)",
    "load_tasks": f"SELECT {', '.join(COLUMNS['tasks'])} FROM tasks WHERE task_id = ANY(%s)",
    "load_approvals": f"SELECT {', '.join(COLUMNS['approvals'])} FROM approvals WHERE approval_id = ANY(%s)",
    "load_counts": """SELECT project_id, area, count(*), count(*) FILTER (WHERE verified) FROM tasks
        WHERE project_id = ANY(%s) GROUP BY project_id, area""",
    **{f"upsert_{t}": _upsert(t) for t in COLUMNS},
    "insert_alerts": _insert_new("alerts"),
    "insert_rejections": _insert_new("rejections"),
    "notify": "SELECT pg_notify(%s, '')",
}


def channel(schema: str) -> str:
    """The NOTIFY channel a projector of `schema` signals on each commit."""
    return f"{schema}_projected"


def _bytes(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode()}
    raise TypeError(f"not JSON: {type(value).__name__}")


def to_json(value: Any) -> str:
    """Payloads and artifacts as JSON text: dataclasses, enums and tuples as JSON would have them."""
    return orjson.dumps(value, default=_bytes, option=orjson.OPT_NON_STR_KEYS).decode()


def event_row(event: Event, at: Position) -> tuple[Any, ...]:
    """The `events` row, in EVENT_COLUMNS order."""
    return (event.event_id, at.topic, at.partition, at.offset, event.type, event.project_id,
            event.request_id, event.causation_id, event.actor.role.value, event.actor.area,
            event.actor.instance, timestamp(event.occurred_at), to_json(event.artifacts),
            to_json(event.payload), tenant_of(event))


def known(conn: psycopg.Connection[Any], ids: list[str]) -> set[str]:
    return {r[0] for r in conn.execute(SQL["known_events"], (ids,))} if ids else set()


def load(conn: psycopg.Connection[Any], keys: Keys) -> Rows:
    """The stored rows of every key the batch touches, and the task counts of their modules."""
    rows = Rows()
    with conn.cursor(row_factory=dict_row) as cur:
        if keys.projects:
            rows.projects = {r["project_id"]: r for r in cur.execute(SQL["load_projects"], (keys.projects,))}
            rows.modules = {(r["project_id"], r["area"]): r
                            for r in cur.execute(SQL["load_modules"], (keys.projects,))}
        if keys.tasks:
            rows.tasks = {r["task_id"]: r for r in cur.execute(SQL["load_tasks"], (keys.tasks,))}
        if keys.approvals:
            rows.approvals = {r["approval_id"]: r
                              for r in cur.execute(SQL["load_approvals"], (keys.approvals,))}
    owners = sorted(set(keys.projects) | {t["project_id"] for t in rows.tasks.values()})
    if owners:
        rows.counts = {(p, a): [n, v] for p, a, n, v in conn.execute(SQL["load_counts"], (owners,))}
    return rows


def write(conn: psycopg.Connection[Any], rows: Rows, events: Iterable[tuple[Any, ...]]) -> None:
    """The batch's event rows (COPY) and every changed row, one statement per table."""
    with conn.cursor() as cur:
        with cur.copy(SQL["copy_events"]) as copy:
            for row in events:
                copy.write_row(row)
        for table in COLUMNS:
            if changed := rows.written(table):
                cur.execute(SQL[f"upsert_{table}"], (orjson.dumps(changed).decode(),))
        for table in ("alerts", "rejections"):
            if new := list(getattr(rows, table).values()):
                cur.execute(SQL[f"insert_{table}"], (orjson.dumps(new).decode(),))
        for table, merged in (("roles", rows.roles), ("role_instances", rows.instances)):
            if merged:
                cur.execute(org.SQL[table], (orjson.dumps(list(merged.values())).decode(),))


def positions(conn: psycopg.Connection[Any], topic: str, nexts: dict[int, int]) -> None:
    parts = sorted(nexts)
    conn.execute(SQL["position"], (topic, parts, [nexts[p] for p in parts]))
