"""Plain SQL of the read models: the writes the projection names, the reads the API serves.

Every statement is unqualified: connections set `search_path` to the projection's schema,
so the same SQL serves the live schema and a rebuild's fresh one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

LIVE_SCHEMA = "orchestrator"
READER_ROLE = "orchestrator_reader"
MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK = 0x6F726368  # pg advisory lock key shared by every migrating process
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# Key columns per table: the order of digests and of keyset pagination.
KEYS: dict[str, tuple[str, ...]] = {
    "projects": ("project_id",), "modules": ("project_id", "area"), "tasks": ("task_id",),
    "events": ("event_id",), "alerts": ("event_id",), "rejections": ("request_id",),
    "positions": ("topic", "partition"), "dead_letters": ("topic", "partition", '"offset"'),
    "roles": ("project_id", "name"), "role_instances": ("project_id", "role", "area", "instance"),
    "approvals": ("approval_id",),
}


def check_schema(name: str) -> str:
    if not _SCHEMA_NAME.match(name):
        raise ValueError(f"not a plain schema name: {name!r}")
    return name


def options(schema: str) -> str:
    """Session settings of every projection connection: names resolve in `schema`, times in UTC."""
    return f"-c search_path={check_schema(schema)} -c TimeZone=UTC"


def connect(dsn: str, schema: str, **kwargs: Any) -> psycopg.Connection[Any]:
    """A connection whose unqualified names resolve in `schema`."""
    return psycopg.connect(dsn, options=options(schema), **kwargs)


def migrate(dsn: str, schema: str) -> list[str]:
    """Apply pending migrations to `schema`; concurrent callers serialize on an advisory lock."""
    applied: list[str] = []
    with psycopg.connect(dsn, autocommit=True) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        ident = sql.Identifier(check_schema(schema))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident))
        conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(ident))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                     "(version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
        done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
        for path in sorted(MIGRATIONS.glob("*.sql")):
            if path.stem in done:
                continue
            conn.execute(path.read_text())  # no params: many statements
            conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (path.stem,))
            applied.append(path.stem)
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (READER_ROLE,)).fetchone():
            role = sql.Identifier(READER_ROLE)
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(ident, role))
            conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(ident, role))
    return applied


def defer_indexes(conn: psycopg.Connection[Any], schema: str, table: str) -> list[str]:
    """Drop `table`'s indexes and key constraints before a bulk load; returns the statements
    that build them again, exactly as they were."""
    name = sql.Identifier(check_schema(schema), table).as_string(conn)
    constraints = conn.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('p', 'u')", (name,)).fetchall()
    indexes = conn.execute(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index i "
        "WHERE indrelid = %s::regclass AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)", (name,)).fetchall()
    for index, _ in indexes:
        conn.execute(f"DROP INDEX {index}")
    for constraint, _ in constraints:
        conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
            sql.Identifier(schema, table), sql.Identifier(constraint)))
    return [*(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(
                 sql.Identifier(schema, table), sql.Identifier(c)).as_string(conn) + definition
              for c, definition in constraints),
            *(definition for _, definition in indexes)]


def digests(conn: psycopg.Connection[Any], schema: str) -> dict[str, str]:
    """A stable md5 per table: rows as text, ordered by key. Times all come from events."""
    out = {}
    for table, key in KEYS.items():
        query = sql.SQL("SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY {order}), '')) "
                        "FROM {schema}.{table} t").format(
            order=sql.SQL(", ").join(sql.SQL("t.") + sql.SQL(k) for k in key),
            schema=sql.Identifier(check_schema(schema)), table=sql.Identifier(table))
        row = conn.execute(query).fetchone()
        out[table] = row[0] if row else ""
    return out


# -- reads (the query API and the read commands) -----------------------------------------
# Each read is one statement and PostgreSQL builds the JSON: the API passes it through as
# it comes; the read commands parse it (`fetch`). Lists page by key: `page` returns the
# items, their count and the last item's key (the next cursor).

PROJECT_COLS = ("project_id, name, status, request_id, spec_uri, spec_sha256, modules, "
                "created_at, updated_at")
TASK_COLS = ("task_id, project_id, area, role, title, status, verified, attempt, round, assignee, "
             "deadline_ms, requirement_ids, updated_at")
EVENT_COLS = ('event_id, topic, partition, "offset", type, project_id, request_id, causation_id, '
              "actor_role, actor_area, actor_instance, occurred_at, artifacts, payload")
ALERT_COLS = ("event_id, project_id, request_id, task_id, area, kind, severity, attempt, round, "
              "message, occurred_at")
APPROVAL_COLS = ("approval_id, project_id, task_id, area, role, gate, status, attempt, round, "
                 "deadline_ms, reason, decided_by, requested_at, decided_at")
PAGE_KEYS = {"projects": ("project_id",), "tasks": ("task_id",), "events": ("partition", '"offset"'),
             "alerts": ("occurred_at", "event_id"), "approvals": ("requested_at", "approval_id")}
_COLS = {"projects": PROJECT_COLS, "tasks": TASK_COLS, "events": EVENT_COLS, "alerts": ALERT_COLS,
         "approvals": APPROVAL_COLS}


def _agg(rows: str, order: str, cast: str = "json") -> str:
    return f"(SELECT coalesce(json_agg(r ORDER BY {order}), '[]')::{cast} FROM ({rows}) r)"


# Reads take the caller's tenants as one text[] parameter; NULL (the read commands) means all.
SCOPED = "tenant = ANY(coalesce(%s::text[], ARRAY[tenant]))"
PROJECT = (f"SELECT row_to_json(x)::text FROM (SELECT {PROJECT_COLS}, " + _agg(
    "SELECT area, status, tasks_total, tasks_verified, updated_at FROM modules m "
    "WHERE m.project_id = p.project_id", "r.area") + " AS module_list FROM projects p "
    f"WHERE project_id = %s AND {SCOPED}) x")
TASK = (f"SELECT row_to_json(x)::text FROM (SELECT {TASK_COLS}, " + _agg(
    f"SELECT {EVENT_COLS} FROM events WHERE payload->>'task_id' = t.task_id "
    "OR payload->>'dev_task_id' = t.task_id", 'r.partition, r."offset"') + " AS events FROM tasks t "
    f"WHERE task_id = %s AND {SCOPED}) x")
REQUEST = ("SELECT " + _agg(f"SELECT {EVENT_COLS} FROM events WHERE request_id = %s AND {SCOPED}",
                            'r.occurred_at, r.partition, r."offset"', "text")
           + ", " + _agg(f"SELECT {TASK_COLS} FROM tasks WHERE project_id IN "
                         f"(SELECT DISTINCT project_id FROM events WHERE request_id = %s) AND {SCOPED}",
                         "r.task_id", "text")
           + f", (SELECT errors::text FROM rejections WHERE request_id = %s AND {SCOPED})")
PROJECT_EVENTS = "SELECT " + _agg(f"SELECT {EVENT_COLS} FROM events WHERE project_id = %s",
                                 'r.partition, r."offset"', "text")
DELIVERY_EVENTS = "SELECT " + _agg(
    "SELECT event_id, project_id, tenant, type, occurred_at, payload, partition, \"offset\" FROM events "
    "WHERE type = ANY(%s) "
    "AND (%s::text IS NULL OR project_id = %s) "
    f"AND project_id IN (SELECT project_id FROM projects WHERE {SCOPED})", 'r.partition, r."offset"', "text")
ORG = ("SELECT json_build_object('roles', " + _agg(
    "SELECT role, area, count(*) FILTER (WHERE status = 'hired') AS serving, "
    f"count(*) FILTER (WHERE status = 'released') AS released FROM roles WHERE {SCOPED} "
    "AND (%s::text IS NULL OR area = %s) GROUP BY role, area", "r.area, r.role")
    + ", 'instances', " + _agg(
    "SELECT role, area, instance, count(*) AS projects, sum(events) AS events, max(last_seen) AS last_seen "
    f"FROM role_instances WHERE {SCOPED} AND (%s::text IS NULL OR area = %s) GROUP BY role, area, instance",
    "r.area, r.role, r.instance") + ")::text")
PROJECT_ORG = "SELECT " + _agg(
    "SELECT name, role, area, status, hired_at, released_at, reason, (SELECT coalesce(json_agg(i ORDER BY "
    "i.instance), '[]') FROM (SELECT instance, events, first_seen, last_seen FROM role_instances x "
    "WHERE x.project_id = o.project_id AND x.role = o.role AND x.area = o.area) i) AS instances "
    f"FROM roles o WHERE project_id = %s AND {SCOPED}", "r.area, r.role", "text")
# What an operator's control of a project, answer to an approval or hand-off of a task is
# checked against (the CLI passes NULL tenants: every one).
PROJECT_CONTROL = ("SELECT row_to_json(x)::text FROM (SELECT status, request_id, tenant FROM projects "
                   f"WHERE project_id = %s AND {SCOPED}) x")
MODULE_CONTROL = ("SELECT row_to_json(x)::text FROM (SELECT m.project_id, m.area, m.status, "
                  "p.request_id, p.status AS project_status, p.tenant FROM modules m JOIN projects p "
                  "USING (project_id) WHERE m.project_id = %s AND m.area = %s "
                  "AND p.tenant = ANY(coalesce(%s::text[], ARRAY[p.tenant]))) x")
APPROVAL = ("SELECT row_to_json(x)::text FROM (SELECT a.approval_id, a.project_id, a.request_id, "
            "a.task_id, a.area, a.role, a.gate, a.status, p.status AS project_status, p.tenant "
            "FROM approvals a "
            "JOIN projects p USING (project_id) WHERE a.approval_id = %s "
            "AND a.tenant = ANY(coalesce(%s::text[], ARRAY[a.tenant]))) x")
HANDOFF = ("SELECT row_to_json(x)::text FROM (SELECT t.task_id, t.project_id, t.area, t.role, t.status, "
           "p.request_id, p.status AS project_status, p.tenant "
           "FROM tasks t JOIN projects p USING (project_id) "
           "WHERE t.task_id = %s AND t.tenant = ANY(coalesce(%s::text[], ARRAY[t.tenant]))) x")
PROJECT_EXISTS = f"EXISTS (SELECT 1 FROM projects WHERE project_id = %s AND {SCOPED})"
PROJECT_VISIBLE = f"SELECT 1 FROM projects WHERE project_id = %s AND {SCOPED}"
# the dashboard: per listed project its tenant and verified/total tasks (ids, then tenants)
_SUM = "(SELECT coalesce(sum({}), 0) FROM modules m WHERE m.project_id = p.project_id)"
PROGRESS = ("SELECT coalesce(json_object_agg(p.project_id, json_build_object('tenant', p.tenant, "
            f"'verified', {_SUM.format('tasks_verified')}, 'total', {_SUM.format('tasks_total')})), "
            f"'{{}}')::text FROM projects p WHERE p.project_id = ANY(%s) AND {SCOPED}")
# what a live page watches: its projects' last change, or the count of one project's events
LIVE_PROJECTS = f"SELECT count(*), max(updated_at)::text FROM projects WHERE {SCOPED}"
LIVE_PROJECT = f"SELECT count(*), max(\"offset\") FROM events WHERE project_id = %s AND {SCOPED}"


def page(table: str, filters: dict[str, Any], after: list[Any] | None, limit: int,
         also: str = "TRUE", tenants: list[str] | None = None) -> tuple[str, list[Any]]:
    """One statement: (`also`, items as JSON text, their count, the last key as JSON text).

    `filters` are column = value conditions (None values left out); `also` is one more
    column computed beside the page (its parameters come last); `tenants` None means all."""
    key = PAGE_KEYS[table]
    where = [SCOPED, *(f"{column} = %s" for column, value in filters.items() if value is not None)]
    params = [tenants, *(value for value in filters.values() if value is not None)]
    if after is not None:
        where.append(f"({', '.join(key)}) > ({', '.join(['%s'] * len(key))})")
        params.extend(after)
    clause = f" WHERE {' AND '.join(where)}"
    order = ", ".join(key)
    last = ", ".join(f"{k} DESC" for k in key)
    query = (f"WITH page AS (SELECT {_COLS[table]} FROM {table}{clause} ORDER BY {order} LIMIT %s) "
             f"SELECT {also}, (SELECT coalesce(json_agg(page ORDER BY {order}), '[]')::text FROM page), "
             f"(SELECT count(*) FROM page), "
             f"(SELECT json_build_array({order})::text FROM page ORDER BY {last} LIMIT 1)")
    return query, [*params, limit]


def fetch(conn: psycopg.Connection[Any], query: str, params: list[Any]) -> Any:
    """The first column of a JSON read, parsed (None when there is no row or it is NULL)."""
    row = conn.execute(query, params).fetchone()
    return None if row is None or row[0] is None else json.loads(row[0])


def _items(conn: psycopg.Connection[Any], query: str, params: list[Any]) -> list[dict[str, Any]]:
    row = conn.execute(query, params).fetchone()
    assert row is not None  # scalar subqueries: always one row
    return list(json.loads(row[1]))


def list_projects(conn: psycopg.Connection[Any], limit: int,
                  after: list[Any] | None) -> list[dict[str, Any]]:
    query, params = page("projects", {}, after, limit)
    return _items(conn, query, params)


def get_project(conn: psycopg.Connection[Any], project_id: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = fetch(conn, PROJECT, [project_id, None])
    return found


def list_tasks(conn: psycopg.Connection[Any], project_id: str, filters: dict[str, str | None],
               limit: int, after: list[Any] | None) -> list[dict[str, Any]]:
    query, params = page("tasks", {"project_id": project_id, **filters}, after, limit)
    return _items(conn, query, params)


def get_task(conn: psycopg.Connection[Any], task_id: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = fetch(conn, TASK, [task_id, None])
    return found


def list_events(conn: psycopg.Connection[Any], project_id: str, limit: int,
                after: list[Any] | None) -> list[dict[str, Any]]:
    query, params = page("events", {"project_id": project_id}, after, limit)
    return _items(conn, query, params)


def project_events(conn: psycopg.Connection[Any], project_id: str) -> list[dict[str, Any]]:
    """Every event of a project in log order (the evidence views fold them)."""
    found: list[dict[str, Any]] = fetch(conn, PROJECT_EVENTS, [project_id])
    return found


def delivery_events(conn: psycopg.Connection[Any], types: list[str], project_id: str | None,
                    tenants: list[str] | None = None) -> list[dict[str, Any]]:
    """The events delivery metrics count, of one project or of all (of `tenants`; None: every
    tenant), in log order."""
    found: list[dict[str, Any]] = fetch(conn, DELIVERY_EVENTS, [types, project_id, project_id,
                                                                tenants])
    return found


def request(conn: psycopg.Connection[Any], request_id: str) -> tuple[list[Any], list[Any], Any]:
    """(events, tasks, rejection errors or None) of one submission."""
    row = conn.execute(REQUEST, [request_id, None] * 3).fetchone()
    assert row is not None  # three scalar subqueries: always one row
    return json.loads(row[0]), json.loads(row[1]), None if row[2] is None else json.loads(row[2])


def org(conn: psycopg.Connection[Any], area: str | None = None) -> dict[str, Any]:
    """Roles and instances per area over every tenant (the read commands' view of `/org`)."""
    found: dict[str, Any] = fetch(conn, ORG, [None, area, area, None, area, area])
    return found


def project_org(conn: psycopg.Connection[Any], project_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = fetch(conn, PROJECT_ORG, [project_id, None]) or []
    return found
