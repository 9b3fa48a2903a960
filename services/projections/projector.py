"""The projector: the event log -> PostgreSQL read models, a tracking recorder (STYLE 10).

A plain consumer assigned every partition of the events topic; its positions live in the
projection's own `positions` table and each batch commits rows and positions in ONE
transaction, so a crash never skips or double-applies an event. The stored positions are
the truth: if they differ from what this process last wrote (a rebuild swapped the schema,
or another projector ran), the partition is re-read from the stored offset, on a fresh
connection (prepared statements of a swapped-out schema go with the old one).
Reading the topic is log_reader's; what nobody can decode goes out through letterer.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import psycopg
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from orchestrator.adapters import bus, config, health
from orchestrator.adapters.config import Settings
from services.projections import views, writes
from services.projections.letterer import letterer
from services.projections.log_reader import high_watermarks, partitions, poll
from services.projections.metrics import ProjectorMetrics
from services.projections.recorder import Decoded, Letters, apply, decode
from services.projections.seal import Sealer, sealer

log = logging.getLogger("orchestrator.projector")

BATCH = 2000  # records per transaction at most (a rebuild takes BULK_BATCH)
BULK_BATCH = 10_000
WAIT = 0.1
RETRY = 1.0


def _apply(conn: psycopg.Connection[Any], topic: str, batch: list[Decoded], expected: dict[int, int],
           seen: set[str] | None, metrics: ProjectorMetrics | None, notify: str,
           letters: Letters | None, ends: dict[int, int], seal: Sealer | None = None) -> dict[int, int]:
    started = time.perf_counter()
    reseek = apply(conn, topic, batch, expected, seen, metrics, notify, letters, ends)
    if seal is not None:  # after the commit: the seal reads the project's stored events
        seal(conn, [e for r, e in batch if not isinstance(e, str) and r.partition not in reseek])
    if metrics is not None:
        metrics.batch(len(batch), time.perf_counter() - started)
    return reseek


def _reread(consumer: Consumer, topic: str, reseek: dict[int, int], expected: dict[int, int],
            eof: dict[int, int]) -> None:
    """Each partition whose stored position is not ours again from that position."""
    for p, offset in reseek.items():
        log.info("partition %d: stored position is %d, re-reading from there", p, offset)
        consumer.seek(TopicPartition(topic, p, offset))
        expected[p] = offset
        eof.pop(p, None)


def run(settings: Settings, schema: str = views.LIVE_SCHEMA, dsn: str | None = None,
        targets: dict[int, int] | None = None, stop: threading.Event | None = None,
        ready: threading.Event | None = None, bulk: bool = False,
        metrics: ProjectorMetrics | None = None, letters: Letters | None = None,
        seal: Sealer | None = None) -> int:
    """Project the log into `schema` until `stop` is set, or until every partition has reached
    its offset in `targets` (records at or past a target are not applied). Returns the number of
    records read. `ready` is set once the database answers and every partition is assigned.
    `bulk`: a fresh schema whose `events` has no indexes yet (views.defer_indexes).
    `seal` publishes `project.sealed` for the projects a batch ends (the live projector)."""
    dsn = dsn or settings.dsn
    views.migrate(dsn, schema)
    topic = settings.events_topic
    stop = stop or threading.Event()
    consumer = Consumer(bus.consumer_config(
        settings, f"projector-{uuid.uuid4()}", **{"enable.auto.commit": False, "enable.partition.eof": True}))
    read, seen = 0, (set[str]() if bulk else None)
    conn = views.connect(dsn, schema, autocommit=True)
    try:
        stored = dict(conn.execute(writes.SQL["positions"], (topic,)).fetchall())
        parts = partitions(consumer, topic)
        expected = {p: stored.get(p, 0) for p in parts}
        consumer.assign([TopicPartition(topic, p, stored.get(p, OFFSET_BEGINNING)) for p in parts])
        if ready is not None:
            ready.set()
        eof: dict[int, int] = {}
        with ThreadPoolExecutor(1, thread_name_prefix="projector-db") as db:
            pending: Future[dict[int, int]] | None = None
            while not stop.is_set():
                done = targets is not None and all(
                    expected.get(p, 0) >= t or eof.get(p, -1) >= t for p, t in targets.items())
                if done and pending is None:
                    break
                # the next batch is read and decoded while the database commits the last one
                ends: dict[int, int] = {}
                records = [] if done else poll(consumer, BULK_BATCH if bulk else BATCH, targets, eof,
                                               0 if pending else WAIT, ends)
                read += len(records)
                batch = decode(records)
                if pending is not None:
                    reseek = pending.result()
                    pending = None
                    if reseek:
                        conn.close()
                        conn = views.connect(dsn, schema, autocommit=True)
                        batch = [d for d in batch if d[0].partition not in reseek]
                    _reread(consumer, topic, reseek, expected, eof)
                ends = {p: end for p, end in ends.items() if end > expected.get(p, 0)}
                if batch or ends:
                    pending = db.submit(_apply, conn, topic, batch, expected, seen, metrics,
                                        writes.channel(schema), letters, ends, seal)
                if metrics is not None:
                    metrics.lag(consumer, topic, expected)
    finally:
        conn.close()
        consumer.close()
    return read


def run_until_caught_up(settings: Settings, schema: str = views.LIVE_SCHEMA, dsn: str | None = None,
                        bulk: bool = False, seal: Sealer | None = None) -> int:
    """Project every record that is on the log now, then return."""
    return run(settings, schema, dsn, targets=high_watermarks(settings), bulk=bulk, seal=seal)


def run_forever(settings: Settings, schema: str = views.LIVE_SCHEMA) -> None:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    ready = threading.Event()
    metrics = ProjectorMetrics(settings)
    if settings.health_port:
        health.serve(settings.health_port, metrics.registry,
                     lambda: (ready.is_set(), "projecting" if ready.is_set() else "connecting"),
                     settings.health_host)
    log.info("projecting %s into schema %s", settings.events_topic, schema)
    seal = sealer(settings)
    while not stop.is_set():
        try:
            run(settings, schema, stop=stop, ready=ready, metrics=metrics, letters=letterer(settings),
                seal=seal)
        except psycopg.OperationalError as exc:  # the database went away: resume from its positions
            ready.clear()
            log.warning("database unavailable (%s); retrying in %.0fs", exc, RETRY)
            stop.wait(RETRY)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Project the event log into PostgreSQL.")
    parser.add_argument("--schema", default=views.LIVE_SCHEMA)
    logging.basicConfig(level=logging.INFO)
    run_forever(config.load(), parser.parse_args().schema)
