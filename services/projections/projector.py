"""The projector: the event log -> PostgreSQL read models, a tracking recorder (STYLE 10).

A plain consumer assigned every partition of the events topic; its positions live in the
projection's own `positions` table and each batch commits rows and positions in ONE
transaction, so a crash never skips or double-applies an event. The stored positions are
the truth: if they differ from what this process last wrote (a rebuild swapped the schema,
or another projector ran), the partition is re-read from the stored offset.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import psycopg
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from prometheus_client import CollectorRegistry
from psycopg.types.json import Jsonb

from orchestrator import bus, codec, config, health
from orchestrator.config import Settings
from services.projections import views
from services.projections.projection import Position, event_row, project

log = logging.getLogger("orchestrator.projector")

BATCH = 500
WAIT = 0.1
RETRY = 1.0
_JSON = frozenset({"artifacts", "payload", "errors"})


class Record(NamedTuple):
    partition: int
    offset: int
    value: bytes | None
    key: bytes | None = None
    headers: list[tuple[str, bytes]] | None = None


def _record(msg: Message) -> Record:
    partition, offset = msg.partition(), msg.offset()
    assert partition is not None and offset is not None  # always set on a fetched record
    return Record(partition, offset, msg.value(), msg.key(), list(msg.headers() or []))  # type: ignore[arg-type]


Letters = Callable[[list[tuple[Record, Exception]]], None]


def letterer(settings: Settings) -> Letters:
    """The projector reads every record, so it alone dead-letters what nobody can decode;
    each letter is acknowledged before the batch's positions commit (at least once)."""
    producer = Producer(bus.producer_config(settings))

    def send(poison: list[tuple[Record, Exception]]) -> None:
        for r, exc in poison:
            log.warning("dead-lettering %s[%d]@%d: %s", settings.events_topic, r.partition, r.offset, exc)
            headers = [*(r.headers or []), *bus.dead_letter_headers(
                settings.events_topic, r.partition, r.offset, exc, f"{settings.topic_prefix}-projector")]
            producer.produce(settings.dlq_topic, r.value, r.key, headers=headers)  # type: ignore[arg-type]
        if producer.flush(30):
            raise KafkaException("dead letters not acknowledged within 30s")

    return send


def _adapt(params: dict[str, Any]) -> dict[str, Any]:
    return {k: Jsonb(v) if k in _JSON else v for k, v in params.items()}


def apply(conn: psycopg.Connection[Any], topic: str, records: Sequence[Record],
          expected: dict[int, int], letters: Letters | None = None,
          ends: dict[int, int] | None = None) -> dict[int, int]:
    """Apply `records` and their positions in one transaction.

    `ends`: partitions read to their end, with the end offset. Transactions leave commit
    markers after the last record, so the end is past the last record's offset; storing it
    lets "position >= high watermark" mean "caught up".

    Returns {partition: stored offset} for partitions whose stored position is not the one
    `expected` holds; their records are left unapplied and the caller re-reads from there.
    """
    with conn.transaction():
        conn.execute(views.SQL["lock_positions"])
        stored = dict(conn.execute(views.SQL["positions"], (topic,)).fetchall())
        touched = {r.partition for r in records} | set(ends or {})
        reseek = {p: stored.get(p, 0) for p in touched if stored.get(p, 0) != expected.get(p, 0)}
        keep = [r for r in records if r.partition not in reseek]
        decoded = []
        poison: list[tuple[Record, Exception]] = []
        with conn.cursor() as cur:
            for r in keep:
                try:
                    decoded.append((r, codec.decode(r.value)))
                except codec.DecodeError as exc:
                    cur.execute(views.SQL["dead_letter"], (topic, r.partition, r.offset, str(exc)))
                    poison.append((r, exc))
            if poison and letters is not None:
                letters(poison)
            ids = [e.event_id for _, e in decoded]
            known = {row[0] for row in cur.execute(views.SQL["known_events"], (ids,))} if ids else set()
            with conn.pipeline():
                for r, event in decoded:
                    if event.event_id in known:  # a duplicate delivery: changes nothing
                        continue
                    known.add(event.event_id)
                    at = Position(topic, r.partition, r.offset)
                    cur.execute(views.SQL["event"], _adapt(event_row(event, at)))
                    for op in project(event):
                        cur.execute(views.SQL[op.statement], _adapt(op.params))
                nexts: dict[int, int] = {}
                for r in keep:
                    nexts[r.partition] = max(nexts.get(r.partition, 0), r.offset + 1)
                for part, end in (ends or {}).items():
                    if part not in reseek:
                        nexts[part] = max(nexts.get(part, expected.get(part, 0)), end)
                for p, offset in nexts.items():
                    cur.execute(views.SQL["position"], (topic, p, offset))
    expected.update(nexts)
    return reseek


def _partitions(consumer: Consumer, topic: str) -> list[int]:
    meta = consumer.list_topics(topic, timeout=10)
    found = meta.topics.get(topic)
    if found is None or found.error is not None:
        raise RuntimeError(f"topic {topic} is not available: {found.error if found else 'missing'}")
    return sorted(found.partitions)


def high_watermarks(settings: Settings) -> dict[int, int]:
    consumer = Consumer(bus.consumer_config(settings, f"projector-probe-{uuid.uuid4()}"))
    try:
        topic = settings.events_topic
        return bus.end_offsets(consumer, topic, _partitions(consumer, topic))
    finally:
        consumer.close()


def run(settings: Settings, schema: str = views.LIVE_SCHEMA, dsn: str | None = None,
        targets: dict[int, int] | None = None, stop: threading.Event | None = None,
        ready: threading.Event | None = None, letters: Letters | None = None) -> int:
    """Project the log into `schema` until `stop` is set, or until every partition has reached
    its offset in `targets` (records at or past a target are not applied). Returns the number of
    records read. `ready` is set once the database answers and every partition is assigned."""
    dsn = dsn or settings.dsn
    views.migrate(dsn, schema)
    topic = settings.events_topic
    stop = stop or threading.Event()
    consumer = Consumer(bus.consumer_config(
        settings, f"projector-{uuid.uuid4()}", **{"enable.auto.commit": False, "enable.partition.eof": True}))
    read = 0
    try:
        with views.connect(dsn, schema, autocommit=True, prepare_threshold=None) as conn:
            stored = dict(conn.execute(views.SQL["positions"], (topic,)).fetchall())
            parts = _partitions(consumer, topic)
            expected = {p: stored.get(p, 0) for p in parts}
            consumer.assign([TopicPartition(topic, p, stored.get(p, OFFSET_BEGINNING)) for p in parts])
            if ready is not None:
                ready.set()
            eof: dict[int, int] = {}
            while not stop.is_set():
                if targets is not None and all(
                        expected.get(p, 0) >= t or eof.get(p, -1) >= t for p, t in targets.items()):
                    break
                records = []
                ends: dict[int, int] = {}
                for msg in consumer.consume(BATCH, WAIT):
                    err = msg.error()
                    if err is None:
                        record = _record(msg)
                        if targets is None or record.offset < targets.get(record.partition, 0):
                            records.append(record)
                    elif err.code() == KafkaError._PARTITION_EOF:
                        part, end = msg.partition() or 0, msg.offset() or 0
                        eof[part] = end
                        end = min(end, targets.get(part, 0)) if targets is not None else end
                        if end > expected.get(part, 0):
                            ends[part] = end
                    elif err.fatal():
                        raise KafkaException(err)
                    else:
                        log.warning("consumer: %s", err)
                if not records and not ends:
                    continue
                read += len(records)
                for p, offset in apply(conn, topic, records, expected, letters, ends).items():
                    log.info("partition %d: stored position is %d, re-reading from there", p, offset)
                    consumer.seek(TopicPartition(topic, p, offset))
                    expected[p] = offset
                    eof.pop(p, None)
    finally:
        consumer.close()
    return read


def run_until_caught_up(settings: Settings, schema: str = views.LIVE_SCHEMA, dsn: str | None = None) -> int:
    """Project every record that is on the log now, then return."""
    return run(settings, schema, dsn, targets=high_watermarks(settings))


def run_forever(settings: Settings, schema: str = views.LIVE_SCHEMA) -> None:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    ready = threading.Event()
    if settings.health_port:
        health.serve(settings.health_port, CollectorRegistry(),
                     lambda: (ready.is_set(), "projecting" if ready.is_set() else "connecting"),
                     settings.health_host)
    log.info("projecting %s into schema %s", settings.events_topic, schema)
    letters = letterer(settings)
    while not stop.is_set():
        try:
            run(settings, schema, stop=stop, ready=ready, letters=letters)
        except psycopg.OperationalError as exc:  # the database went away: resume from its positions
            ready.clear()
            log.warning("database unavailable (%s); retrying in %.0fs", exc, RETRY)
            stop.wait(RETRY)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Project the event log into PostgreSQL.")
    parser.add_argument("--schema", default=views.LIVE_SCHEMA)
    logging.basicConfig(level=logging.INFO)
    run_forever(config.load(), parser.parse_args().schema)
