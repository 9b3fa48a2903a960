"""The tracking recorder (STYLE 10): one batch of log records -> rows and positions in ONE
PostgreSQL transaction, so a crash never skips or double-applies an event.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import psycopg
from confluent_kafka import Message

from orchestrator.adapters import wire
from orchestrator.core import codec
from orchestrator.core.envelope import Event
from services.projections import projection, rowset, writes
from services.projections.metrics import ProjectorMetrics
from services.projections.rowset import Position


class Record(NamedTuple):
    partition: int
    offset: int
    value: bytes | None
    key: bytes | None = None
    headers: list[tuple[str, bytes]] | None = None  # kept for a dead letter

    @staticmethod
    def of(msg: Message) -> Record:
        partition, offset = msg.partition(), msg.offset()
        assert partition is not None and offset is not None  # always set on a fetched record
        return Record(partition, offset, msg.value(), msg.key(), list(msg.headers() or []))  # type: ignore[arg-type]


Letters = Callable[[list[tuple[Record, str]]], None]  # dead-letters records nobody can decode


Decoded = tuple[Record, Event | str]  # the event, or why it could not be decoded


def decode(records: Sequence[Record]) -> list[Decoded]:
    out: list[Decoded] = []
    for r in records:
        try:
            out.append((r, wire.decode(r.value)))
        except codec.DecodeError as exc:
            out.append((r, str(exc)))
    return out


def apply(conn: psycopg.Connection[Any], topic: str, batch: Sequence[Decoded],
          expected: dict[int, int], seen: set[str] | None = None,
          metrics: ProjectorMetrics | None = None, notify: str | None = None,
          letters: Letters | None = None, ends: dict[int, int] | None = None) -> dict[int, int]:
    """Apply a decoded batch and its positions in one transaction.

    `letters` dead-letters what no decider can decode (acknowledged before the commit: at
    least once). `ends`: partitions read to their end; transactions leave a commit marker
    after the last record, so storing the end lets "position >= end offset" mean caught up.

    Returns {partition: stored offset} for partitions whose stored position is not the one
    `expected` holds; their records are left unapplied and the caller re-reads from there.
    `seen` replaces the lookup of known event ids (a rebuild loads `events` without indexes);
    `notify` is the channel that hears of the commit (readers waiting for a position).
    """
    with conn.transaction():
        conn.execute(writes.SQL["lock_positions"])
        stored = dict(conn.execute(writes.SQL["positions"], (topic,)).fetchall())
        touched = {r.partition for r, _ in batch} | set(ends or {})
        reseek = {p: stored.get(p, 0) for p in touched if stored.get(p, 0) != expected.get(p, 0)}
        keep = [r for r, _ in batch if r.partition not in reseek]
        decoded: list[tuple[Record, Event]] = []
        poison: list[tuple[Record, str]] = []
        for r, found in batch:
            if r.partition in reseek:
                continue
            if isinstance(found, str):
                conn.execute(writes.SQL["dead_letter"], (topic, r.partition, r.offset, found))
                poison.append((r, found))
            else:
                decoded.append((r, found))
        if poison and letters is not None:
            letters(poison)
        ids = [e.event_id for _, e in decoded]
        known = (seen & set(ids)) if seen is not None else writes.known(conn, ids)
        fresh = []
        for r, event in decoded:
            if event.event_id not in known:  # else a duplicate delivery: changes nothing
                known.add(event.event_id)
                fresh.append((r, event))
        if seen is not None:
            seen.update(ids)
        rows = writes.load(conn, rowset.touched([e for _, e in fresh]))
        for _, event in fresh:
            projection.fold(rows, event)
        writes.write(conn, rows, (writes.event_row(e, Position(topic, r.partition, r.offset))
                                  for r, e in fresh))
        nexts: dict[int, int] = {}
        for r in keep:
            nexts[r.partition] = max(nexts.get(r.partition, 0), r.offset + 1)
        for part, end in (ends or {}).items():
            if part not in reseek:
                nexts[part] = max(nexts.get(part, expected.get(part, 0)), end)
        if nexts:
            writes.positions(conn, topic, nexts)
        if notify:
            conn.execute(writes.SQL["notify"], (notify,))
    expected.update(nexts)
    if metrics is not None:
        metrics.applied(len(fresh), len(decoded) - len(fresh), len(keep) - len(decoded))
    return reseek
