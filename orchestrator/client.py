"""Client side of the log: submit a spec, follow what a submission causes."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from orchestrator import bus, codec
from orchestrator.bus import Publisher, consumer_config
from orchestrator.config import Settings
from orchestrator.envelope import Actor, Event, derive_id
from orchestrator.events import Role, SpecSubmitted

TERMINAL = {"project.completed", "project.blocked", "spec.rejected"}


def submission(document: bytes, filename: str | None = None, request_id: str | None = None) -> Event:
    request_id = request_id or str(uuid.uuid4())
    return Event(
        event_id=derive_id(request_id, "spec.submitted"),
        project_id="",
        request_id=request_id,
        causation_id=None,
        occurred_at=int(time.time() * 1000),
        actor=Actor(Role.CLIENT, None, "cli"),
        payload=SpecSubmitted(document=document, filename=filename),
    )


def submit(settings: Settings, path: Path) -> Event:
    event = submission(path.read_bytes(), path.name)
    publisher = Publisher(settings)
    try:
        publisher.publish_sync([event])
    finally:
        publisher.close()
    return event


def follow(settings: Settings, since_ms: int, timeout: float,
           keep: Callable[[Event], bool] = lambda e: True) -> Iterator[Event]:
    """Events on the log from `since_ms` on, until `timeout` seconds pass."""
    consumer = Consumer(consumer_config(settings, f"follow-{uuid.uuid4()}",
                                        **{"enable.auto.commit": False}))
    try:
        meta = consumer.list_topics(settings.events_topic, timeout=10)
        parts = meta.topics[settings.events_topic].partitions
        # the end offsets first: a partition with nothing since `since_ms` yet answers -1
        # (the end *when fetching starts*), which would skip events written in between
        ends = bus.end_offsets(consumer, settings.events_topic, parts)
        start = [TopicPartition(settings.events_topic, p, since_ms) for p in parts]
        found = consumer.offsets_for_times(start, timeout=10)
        consumer.assign([tp if tp.offset >= 0 else TopicPartition(tp.topic, tp.partition, ends[tp.partition])
                         for tp in found])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is None or msg.error():
                continue
            try:
                event = codec.decode(msg.value(), settings.schema_registry_url)
            except codec.DecodeError:
                continue
            if keep(event):
                yield event
    finally:
        consumer.close()


def wait_for_outcome(settings: Settings, request_id: str, since_ms: int,
                     timeout: float) -> list[Event]:
    """Every event of one submission until its terminal event (or the timeout)."""
    seen: dict[str, Event] = {}
    for event in follow(settings, since_ms, timeout, lambda e: e.request_id == request_id):
        seen.setdefault(event.event_id, event)
        if event.type in TERMINAL:
            break
    return list(seen.values())
