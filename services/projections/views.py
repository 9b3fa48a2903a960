"""Plain SQL of the read models: the writes the projection names, the reads the API serves.

Every statement is unqualified: connections set `search_path` to the projection's schema,
so the same SQL serves the live schema and a rebuild's fresh one.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

LIVE_SCHEMA = "orchestrator"
READER_ROLE = "orchestrator_reader"
MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK = 0x6F726368  # pg advisory lock key shared by every migrating process
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

SQL: dict[str, str] = {
    "event": """INSERT INTO events (event_id, topic, partition, "offset", type, project_id, request_id,
        causation_id, actor_role, actor_area, actor_instance, occurred_at, artifacts, payload)
        VALUES (%(event_id)s, %(topic)s, %(partition)s, %(offset)s, %(type)s, %(project_id)s,
        %(request_id)s, %(causation_id)s, %(actor_role)s, %(actor_area)s, %(actor_instance)s,
        %(occurred_at)s, %(artifacts)s, %(payload)s) ON CONFLICT DO NOTHING""",
    "known_events": "SELECT event_id FROM events WHERE event_id = ANY(%s)",
    "dead_letter": """INSERT INTO dead_letters (topic, partition, "offset", error)
        VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING""",
    "lock_positions": "LOCK TABLE positions IN SHARE ROW EXCLUSIVE MODE",
    "positions": "SELECT partition, next_offset FROM positions WHERE topic = %s",
    "position": """INSERT INTO positions (topic, partition, next_offset) VALUES (%s, %s, %s)
        ON CONFLICT (topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset""",
    "project_created": """INSERT INTO projects (project_id, name, status, request_id, spec_uri,
        spec_sha256, modules, created_at, updated_at) VALUES (%(project_id)s, %(name)s, 'created',
        %(request_id)s, %(spec_uri)s, %(spec_sha256)s, %(modules)s, %(at)s, %(at)s)
        ON CONFLICT (project_id) DO NOTHING""",
    "project_status": """UPDATE projects SET status = %(status)s, updated_at = %(at)s
        WHERE project_id = %(project_id)s""",
    "rejection": """INSERT INTO rejections (request_id, event_id, errors, occurred_at)
        VALUES (%(request_id)s, %(event_id)s, %(errors)s, %(at)s) ON CONFLICT DO NOTHING""",
    "module_planned": """INSERT INTO modules (project_id, area, status, updated_at)
        VALUES (%(project_id)s, %(area)s, 'planned', %(at)s) ON CONFLICT (project_id, area)
        DO UPDATE SET status = 'planned', updated_at = EXCLUDED.updated_at""",
    "module_backlog": """UPDATE modules SET backlog_total = %(total)s,
        tasks_total = GREATEST(tasks_total, %(total)s), updated_at = %(at)s
        WHERE project_id = %(project_id)s AND area = %(area)s""",
    "module_status": """UPDATE modules SET status = %(status)s, updated_at = %(at)s
        WHERE project_id = %(project_id)s AND area = %(area)s""",
    "module_counts": """UPDATE modules m SET updated_at = %(at)s,
        tasks_total = GREATEST(m.backlog_total,
            (SELECT count(*) FROM tasks t WHERE t.project_id = m.project_id AND t.area = m.area)),
        tasks_verified = (SELECT count(*) FROM tasks t
            WHERE t.project_id = m.project_id AND t.area = m.area AND t.verified)
        WHERE m.project_id = %(project_id)s AND m.area = %(area)s""",
    "task_assigned": """INSERT INTO tasks (task_id, project_id, area, role, title, status, attempt,
        round, deadline_ms, requirement_ids, updated_at) VALUES (%(task_id)s, %(project_id)s,
        %(area)s, %(role)s, %(title)s, 'assigned', %(attempt)s, 0, %(deadline_ms)s,
        %(requirement_ids)s, %(at)s) ON CONFLICT (task_id) DO UPDATE SET status = 'assigned',
        verified = false, attempt = EXCLUDED.attempt, round = 0, assignee = NULL,
        deadline_ms = EXCLUDED.deadline_ms, requirement_ids = EXCLUDED.requirement_ids,
        title = EXCLUDED.title, updated_at = EXCLUDED.updated_at""",
    "task_status": """UPDATE tasks SET status = %(status)s, updated_at = %(at)s,
        attempt = COALESCE(%(attempt)s::int, attempt), round = COALESCE(%(round)s::int, round),
        assignee = COALESCE(%(assignee)s::text, assignee) WHERE task_id = %(task_id)s""",
    "task_verified": """UPDATE tasks SET status = 'verified', verified = true, updated_at = %(at)s
        WHERE task_id = %(task_id)s""",
    "alert": """INSERT INTO alerts (event_id, project_id, request_id, task_id, area, kind, severity,
        attempt, round, message, occurred_at) VALUES (%(event_id)s, %(project_id)s, %(request_id)s,
        %(task_id)s, %(area)s, %(kind)s, %(severity)s, %(attempt)s, %(round)s, %(message)s, %(at)s)
        ON CONFLICT DO NOTHING""",
}

# Key columns per table: the order of digests and of keyset pagination.
KEYS: dict[str, tuple[str, ...]] = {
    "projects": ("project_id",), "modules": ("project_id", "area"), "tasks": ("task_id",),
    "events": ("event_id",), "alerts": ("event_id",), "rejections": ("request_id",),
    "positions": ("topic", "partition"), "dead_letters": ("topic", "partition", '"offset"'),
}


def check_schema(name: str) -> str:
    if not _SCHEMA_NAME.match(name):
        raise ValueError(f"not a plain schema name: {name!r}")
    return name


def connect(dsn: str, schema: str, **kwargs: Any) -> psycopg.Connection[Any]:
    """A connection whose unqualified names resolve in `schema`."""
    return psycopg.connect(dsn, options=f"-c search_path={check_schema(schema)}", **kwargs)


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


# -- reads (the query API) --------------------------------------------------------------

PROJECT_COLS = ("project_id, name, status, request_id, spec_uri, spec_sha256, modules, "
                "created_at, updated_at")
TASK_COLS = ("task_id, project_id, area, role, title, status, verified, attempt, round, assignee, "
             "deadline_ms, requirement_ids, updated_at")
EVENT_COLS = ('event_id, topic, partition, "offset", type, project_id, request_id, causation_id, '
              "actor_role, actor_area, actor_instance, occurred_at, artifacts, payload")
ALERT_COLS = ("event_id, project_id, request_id, task_id, area, kind, severity, attempt, round, "
              "message, occurred_at")


def _rows(conn: psycopg.Connection[Any], query: str, params: list[Any]) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()


def _page(where: list[str], params: list[Any], key: tuple[str, ...], after: list[Any] | None,
          limit: int) -> tuple[str, list[Any]]:
    if after is not None:
        where.append(f"({', '.join(key)}) > ({', '.join(['%s'] * len(key))})")
        params.extend(after)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return f"{clause} ORDER BY {', '.join(key)} LIMIT %s", [*params, limit]


def list_projects(conn: psycopg.Connection[Any], limit: int,
                  after: list[Any] | None) -> list[dict[str, Any]]:
    tail, params = _page([], [], ("project_id",), after, limit)
    return _rows(conn, f"SELECT {PROJECT_COLS} FROM projects{tail}", params)


def get_project(conn: psycopg.Connection[Any], project_id: str) -> dict[str, Any] | None:
    found = _rows(conn, f"SELECT {PROJECT_COLS} FROM projects WHERE project_id = %s", [project_id])
    if not found:
        return None
    modules = _rows(conn, "SELECT area, status, tasks_total, tasks_verified, updated_at FROM modules "
                          "WHERE project_id = %s ORDER BY area", [project_id])
    return {**found[0], "module_list": modules}


def list_tasks(conn: psycopg.Connection[Any], project_id: str, filters: dict[str, str | None],
               limit: int, after: list[Any] | None) -> list[dict[str, Any]]:
    where, params = ["project_id = %s"], [project_id]
    for column, value in filters.items():
        if value is not None:
            where.append(f"{column} = %s")
            params.append(value)
    tail, params = _page(where, params, ("task_id",), after, limit)
    return _rows(conn, f"SELECT {TASK_COLS} FROM tasks{tail}", params)


def get_task(conn: psycopg.Connection[Any], task_id: str) -> dict[str, Any] | None:
    found = _rows(conn, f"SELECT {TASK_COLS} FROM tasks WHERE task_id = %s", [task_id])
    return found[0] if found else None


def task_events(conn: psycopg.Connection[Any], task_id: str) -> list[dict[str, Any]]:
    return _rows(conn, f"SELECT {EVENT_COLS} FROM events WHERE payload->>'task_id' = %s "
                       "OR payload->>'dev_task_id' = %s ORDER BY partition, \"offset\"",
                 [task_id, task_id])


def list_events(conn: psycopg.Connection[Any], project_id: str, limit: int,
                after: list[Any] | None) -> list[dict[str, Any]]:
    tail, params = _page(["project_id = %s"], [project_id], ("partition", '"offset"'), after, limit)
    return _rows(conn, f"SELECT {EVENT_COLS} FROM events{tail}", params)


def request_events(conn: psycopg.Connection[Any], request_id: str) -> list[dict[str, Any]]:
    return _rows(conn, f"SELECT {EVENT_COLS} FROM events WHERE request_id = %s "
                       "ORDER BY occurred_at, partition, \"offset\"", [request_id])


def request_tasks(conn: psycopg.Connection[Any], request_id: str) -> list[dict[str, Any]]:
    return _rows(conn, f"SELECT {TASK_COLS} FROM tasks WHERE project_id IN "
                       "(SELECT DISTINCT project_id FROM events WHERE request_id = %s) ORDER BY task_id",
                 [request_id])


def rejection(conn: psycopg.Connection[Any], request_id: str) -> dict[str, Any] | None:
    found = _rows(conn, "SELECT errors FROM rejections WHERE request_id = %s", [request_id])
    return found[0] if found else None


def list_alerts(conn: psycopg.Connection[Any], filters: dict[str, str | None], limit: int,
                after: list[Any] | None) -> list[dict[str, Any]]:
    where: list[str] = []
    params: list[Any] = []
    for column, value in filters.items():
        if value is not None:
            where.append(f"{column} = %s")
            params.append(value)
    tail, params = _page(where, params, ("occurred_at", "event_id"), after, limit)
    return _rows(conn, f"SELECT {ALERT_COLS} FROM alerts{tail}", params)
