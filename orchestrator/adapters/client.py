"""Client side of the log: submit a spec, follow what a submission causes."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from orchestrator.adapters import kafka_topics, wire
from orchestrator.adapters.bus import Publisher, consumer_config
from orchestrator.adapters.config import Settings
from orchestrator.adapters.wallclock import now_ms
from orchestrator.core import codec
from orchestrator.core.envelope import Actor, Event, derive_id
from orchestrator.core.events import Role, SpecSubmitted
from orchestrator.core.position import Token

TERMINAL = {"project.completed", "project.blocked", "spec.rejected"}


def submission(document: bytes, filename: str | None = None, request_id: str | None = None,
               tenant: str | None = None, via: str = "cli") -> Event:
    """The one builder of `spec.submitted` (CLI, API, a raw document on the ingestion topic)."""
    request_id = request_id or str(uuid.uuid4())
    return Event(
        event_id=derive_id(request_id, "spec.submitted"),
        project_id="",
        request_id=request_id,
        causation_id=None,
        occurred_at=now_ms(),
        actor=Actor(Role.CLIENT, None, via),
        payload=SpecSubmitted(document=document, filename=filename),
        tenant=tenant,
    )


def submit(settings: Settings, path: Path) -> Event:
    return submit_document(settings, path.read_bytes(), path.name)[0]


def submit_document(settings: Settings, document: bytes, filename: str | None = None) -> tuple[Event, Token]:
    """Produce a submission; returns it and its position token (for reads that wait for it)."""
    event = submission(document, filename, tenant=settings.submit_tenant)
    publisher = Publisher(settings)
    try:
        where = asyncio.run(publisher.publish_one(event))
    finally:
        publisher.close()
    return event, Token(*where, request_id=event.request_id)


class Refused(RuntimeError):
    """The API said no (401, 403, 413, 422, 429): the message is its answer."""


def submit_via_api(settings: Settings, url: str, document: bytes, filename: str | None) -> tuple[str, Token]:
    """POST the document to the API with `ORCH_TOKEN`; returns the request id and position token."""
    import httpx

    headers = {"Authorization": f"Bearer {settings.token}"} if settings.token else {}
    params = {"filename": filename} if filename else {}
    answer = httpx.post(f"{url.rstrip('/')}/specs", content=document, params=params, headers=headers,
                        timeout=30)
    if answer.status_code != 202:
        detail = answer.json().get("detail", answer.text) if answer.headers.get(
            "content-type", "").startswith("application/json") else answer.text
        raise Refused(f"the API answered {answer.status_code}: {detail}")
    body = answer.json()
    return str(body["request_id"]), Token.decode(body["position"])


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
        ends = kafka_topics.end_offsets(consumer, settings.events_topic, parts)
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
                event = wire.decode(msg.value(), settings.schema_registry_url)
            except codec.DecodeError:
                continue
            if keep(event):
                yield event
    finally:
        consumer.close()
