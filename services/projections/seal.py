"""The shell of the hash chain: seal a project when it ends, read its chain from the log and
from the read model, and say where they diverge (the chain itself is pure: `chain`).

The projector seals, not the CTO: only the projector reads every event of the log in order
(the CTO's decider sees its interests only), and the chain must cover every event. The seal
is published after the batch with the terminal event committed, with an id derived from
that event, so a re-projected batch (or a rebuild) yields the same event and the fold keeps
the first.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, NamedTuple

import psycopg
from confluent_kafka import Consumer, KafkaError, TopicPartition
from psycopg.rows import dict_row

from orchestrator.adapters import bus, kafka_topics, wire
from orchestrator.adapters.config import Settings
from orchestrator.core import codec
from orchestrator.core.envelope import Actor, Event, derive_id
from orchestrator.core.events import ProjectBlocked, ProjectCompleted, ProjectSealed, Role
from services.projections import chain, writes

Sealer = Callable[[psycopg.Connection[Any], list[Event]], None]
STORED = ("SELECT event_id, type, project_id, request_id, causation_id, actor_role, actor_area, "
          "actor_instance, occurred_at, artifacts, payload FROM events WHERE project_id = %s "
          'ORDER BY partition, "offset"')


def stored_rows(conn: psycopg.Connection[Any], project_id: str) -> list[dict[str, Any]]:
    """The project's events as the read model holds them, in log order."""
    with conn.cursor(row_factory=dict_row) as cur:
        return list(cur.execute(STORED, (project_id,)))


def seal_of(rows: list[dict[str, Any]], end: Event) -> Event:
    """The `project.sealed` for the chain of `rows` that ends with `end`: the project's tenant
    too, as `follow` copies it (the seal is not a link, so the chain is unchanged)."""
    links = chain.links(rows, upto=end.event_id)
    return Event(derive_id(end.event_id, chain.SEAL), end.project_id, end.request_id, end.event_id,
                 end.occurred_at, Actor(Role.PROJECTOR, None, "projector"),
                 ProjectSealed(chain.head(links), len(links), end.event_id), tenant=end.tenant)


def sealer(settings: Settings) -> Sealer:
    """Publishes the seal of every project whose end is in a committed batch."""
    publisher = bus.Publisher(settings)

    def seal(conn: psycopg.Connection[Any], events: list[Event]) -> None:
        ends = [e for e in events if isinstance(e.payload, ProjectCompleted | ProjectBlocked)]
        if not ends:
            return
        seals = [seal_of(stored_rows(conn, e.project_id), e) for e in ends]
        known = writes.known(conn, [s.event_id for s in seals])  # a terminal event delivered again
        if fresh := [s for s in seals if s.event_id not in known]:
            publisher.publish_sync(fresh)

    return seal


class Report(NamedTuple):
    """What `orchestrator verify` found for one project."""

    log: list[chain.Link]
    stored: list[chain.Link]
    seals: list[ProjectSealed]
    divergence: chain.Divergence | None  # the read model against the log
    bad_seals: list[tuple[ProjectSealed, int]]  # a seal the log's chain does not reach: first bad index

    @property
    def ok(self) -> bool:
        return self.divergence is None and not self.bad_seals and bool(self.log)


def check(log_rows: list[dict[str, Any]], stored: list[dict[str, Any]]) -> Report:
    """Recompute both chains and hold the read model and every seal against the log (pure)."""
    seals = [ProjectSealed(r["payload"]["head"], r["payload"]["length"], r["payload"]["last_event_id"])
             for r in log_rows if r["type"] == chain.SEAL]
    log_links, stored_links = chain.links(log_rows), chain.links(stored)
    bad = [(s, i) for s in seals
           if (i := chain.first_bad_against_seal(log_links, s.head, s.length)) is not None]
    return Report(log_links, stored_links, seals, chain.first_divergence(log_links, stored_links), bad)


def log_rows(settings: Settings, project_id: str, timeout: float = 30.0) -> list[dict[str, Any]]:
    """The project's events as the log holds them, in log order (read to the end offsets now)."""
    consumer = Consumer(bus.consumer_config(settings, f"verify-{uuid.uuid4()}",
                                            **{"enable.auto.commit": False,
                                               "enable.partition.eof": True}))
    topic = settings.events_topic
    try:
        parts = sorted(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
        ends = kafka_topics.end_offsets(consumer, topic, parts, timeout)
        consumer.assign([TopicPartition(topic, p, 0) for p in parts if ends.get(p, 0) > 0])
        found: dict[int, list[tuple[int, dict[str, Any]]]] = {p: [] for p in parts}
        left = {p for p in parts if ends.get(p, 0) > 0}
        deadline = time.monotonic() + timeout
        while left and time.monotonic() < deadline:
            for msg in consumer.consume(1000, 1.0):
                part, offset = msg.partition() or 0, msg.offset() or 0
                if (err := msg.error()) is not None:
                    if err.code() == KafkaError._PARTITION_EOF and offset >= ends.get(part, 0):
                        left.discard(part)
                    continue
                try:
                    event = wire.decode(msg.value())
                except codec.DecodeError:
                    continue  # dead-lettered by the projector, never projected
                if event.project_id == project_id:
                    found[part].append((offset, chain.of_event(event)))
    finally:
        consumer.close()
    if left:
        raise TimeoutError(f"partitions {sorted(left)} not read to their end within {timeout}s")
    return [row for p in parts for _, row in sorted(found[p], key=lambda x: x[0])]
