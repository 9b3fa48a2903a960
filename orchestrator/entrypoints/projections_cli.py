"""`orchestrator projections rebuild [--verify]`: replay the log from offset 0 into a fresh
schema, then swap it in for the live one.

The replay loads `events` without indexes (built after the load), then catches up to the live
positions with them, under the live lock.

The live projector may keep running: the swap happens while holding the live `positions`
lock, and afterwards the projector finds the swapped-in schema's positions, which differ
from what it last wrote, and re-reads from there (services/projections/projector.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import psycopg
import typer
from psycopg import sql

from orchestrator.adapters import config
from orchestrator.adapters.config import Settings
from services.projections import projector, views

projections_app = typer.Typer(no_args_is_help=True, help="PostgreSQL read models of the log.")


@dataclass
class Rebuilt:
    schema: str
    records: int
    seconds: float
    digests: dict[str, str] = field(default_factory=dict)
    live_digests: dict[str, str] = field(default_factory=dict)
    swapped: bool = False

    @property
    def mismatched(self) -> list[str]:
        return [t for t, d in self.digests.items() if self.live_digests.get(t) != d]


def _next_schema(conn: psycopg.Connection, live: str) -> str:
    rows = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s",
                        (f"{live}\\_rebuild\\_%",)).fetchall()
    taken = [int(name.rsplit("_", 1)[1]) for (name,) in rows if name.rsplit("_", 1)[1].isdigit()]
    return f"{live}_rebuild_{max(taken, default=0) + 1}"


def rebuild(settings: Settings, verify: bool, live: str | None = None) -> Rebuilt:
    """Replay into a fresh schema; with `verify`, swap only if every table's digest equals the
    live one at the same log positions."""

    live = views.check_schema(live or views.LIVE_SCHEMA)
    dsn = settings.dsn
    views.migrate(dsn, live)
    with psycopg.connect(dsn, autocommit=True) as conn:
        new = _next_schema(conn, live)
        started = time.monotonic()
        views.migrate(dsn, new)
        restore = views.defer_indexes(conn, new, "events")
        records = projector.run_until_caught_up(settings, new, dsn, bulk=True)
        for statement in restore:  # built once over the loaded rows, not row by row
            conn.execute(statement)
        for table in views.KEYS:
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(new, table)))
        result = Rebuilt(new, records, time.monotonic() - started)
        with conn.transaction():
            # Hold the live projector still; bring the rebuild to exactly its positions.
            conn.execute(sql.SQL("LOCK TABLE {}.positions IN SHARE ROW EXCLUSIVE MODE")
                         .format(sql.Identifier(live)))
            query = sql.SQL("SELECT partition, next_offset FROM {}.positions WHERE topic = %s")
            targets: dict[int, int] = dict(
                conn.execute(query.format(sql.Identifier(live)), (settings.events_topic,)).fetchall())
            result.records += projector.run(settings, new, dsn, targets=targets)
            result.seconds = time.monotonic() - started
            result.digests = views.digests(conn, new)
            result.live_digests = views.digests(conn, live)
            if verify and result.mismatched:
                return result
            old = f"{live}_old_{new.rsplit('_', 1)[1]}"
            conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(sql.Identifier(live),
                                                                        sql.Identifier(old)))
            conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(sql.Identifier(new),
                                                                        sql.Identifier(live)))
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(old)))
            result.swapped = True
    return result


@projections_app.command("rebuild")
def rebuild_command(
    verify: bool = typer.Option(False, "--verify", help="compare table digests with the live state"),
    schema: str = typer.Option("orchestrator", help="the live schema to replace"),
) -> None:
    """Replay the event log from offset 0 into a fresh schema and swap it in atomically."""
    result = rebuild(config.load(), verify, schema)
    rate = result.records / result.seconds if result.seconds else 0.0
    typer.echo(f"rebuilt {result.records} records in {result.seconds:.2f}s ({rate:.0f}/s) "
               f"into {result.schema}")
    if verify:
        for table, digest in result.digests.items():
            live = result.live_digests.get(table, "")
            typer.echo(f"{table:14} rebuilt {digest}  live {live}  {'ok' if live == digest else 'MISMATCH'}")
    if result.mismatched and verify:
        typer.echo(f"mismatch in {', '.join(result.mismatched)}: live kept, rebuild left in "
                   f"{result.schema}", err=True)
        raise typer.Exit(1)
    typer.echo(f"swapped into {schema}" if result.swapped else "not swapped")
