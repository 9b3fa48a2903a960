"""Kafka plumbing: safe client settings, topic provisioning, publishing, dead letters.

librdkafka's defaults are unsafe for us: producers are idempotent with acks=all, and
consumers store an offset only after the record's effects are durable.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from tenacity import Retrying, retry_if_exception, wait_fixed

from orchestrator.adapters import wire
from orchestrator.adapters.config import Settings
from orchestrator.core import actors, codec
from orchestrator.core.envelope import Event

INFINITE = "-1"
CHANGELOG_RECORD_BYTES = 16 * 1024 * 1024  # one project's state; far above any real one


SECURITY = {"security.protocol": "kafka_security_protocol", "sasl.mechanism": "kafka_sasl_mechanism",
            "sasl.username": "kafka_sasl_username", "sasl.password": "kafka_sasl_password",
            "ssl.ca.location": "kafka_ssl_ca_location",
            "ssl.certificate.location": "kafka_ssl_certificate_location",
            "ssl.key.location": "kafka_ssl_key_location"}


def client_config(settings: Settings, **extra: Any) -> dict[str, Any]:
    """What every Kafka client of ours starts from: producers, consumers and admin clients;
    the security settings (ORCH_KAFKA_SECURITY_PROTOCOL, ..._SASL_*, ..._SSL_*) that are set."""
    secured = {key: getattr(settings, name) for key, name in SECURITY.items() if getattr(settings, name)}
    return {"bootstrap.servers": settings.bootstrap, **secured, **extra}


def producer_config(settings: Settings, **extra: Any) -> dict[str, Any]:
    return {
        **client_config(settings),
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 1,
        "message.max.bytes": settings.max_record_bytes + 64 * 1024,
        # librdkafka's log lines go through Python logging, not straight to stderr
        "logger": logging.getLogger("orchestrator.kafka"),
        **extra,
    }


def consumer_config(settings: Settings, group: str, **extra: Any) -> dict[str, Any]:
    return {
        **client_config(settings),
        "group.id": group,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        **extra,
    }


def topic_specs(settings: Settings) -> list[NewTopic]:
    rf = settings.replication_factor
    keep = {"retention.ms": INFINITE, "retention.bytes": INFINITE,
            "min.insync.replicas": str(settings.min_insync_replicas),
            "max.message.bytes": str(settings.max_record_bytes + 64 * 1024)}
    return [
        NewTopic(settings.events_topic, settings.partitions, rf, config=keep),
        NewTopic(settings.specs_topic, settings.partitions, rf, config=keep),
        NewTopic(settings.dlq_topic, 1, rf, config=keep),
        *(NewTopic(settings.tenant_specs_topic(t), settings.partitions, rf, config=keep)
          for t in sorted(set(settings.tenant_of_principal.values()))),
    ]


def changelog_spec(settings: Settings, name: str, partitions: int) -> NewTopic:
    """A state changelog: compacted, partition-aligned with the topic its service reads.

    Small segments that roll every few minutes, so the cleaner compacts all but a short
    tail and a restore reads about one record per live project, not the history.
    """
    return NewTopic(name, partitions, settings.replication_factor, config={
        "cleanup.policy": "compact", "segment.bytes": str(16 * 1024 * 1024),
        "segment.ms": str(5 * 60_000), "min.cleanable.dirty.ratio": "0.1",
        "min.insync.replicas": str(settings.min_insync_replicas),
        "max.message.bytes": str(CHANGELOG_RECORD_BYTES), "compression.type": "producer",
    })


def changelog_topics(settings: Settings) -> list[NewTopic]:
    """One changelog per actor service and area (SPEC's follows the ingestion topic)."""

    return [changelog_spec(settings, settings.changelog_topic(name, area), settings.partitions)
            for name, area in actors.groups()]


def provision(settings: Settings, timeout: float = 30.0, changelogs: bool = False) -> list[str]:
    """Create the log, ingestion and dead-letter topics, and with `changelogs` every service's
    changelog (a service creates its own at start otherwise); existing ones are left alone."""
    specs = [*topic_specs(settings), *(changelog_topics(settings) if changelogs else [])]
    return create_topics(settings, specs, timeout)


def create_topics(settings: Settings, specs: list[NewTopic], timeout: float = 30.0) -> list[str]:
    admin = AdminClient(client_config(settings))
    created = []
    for name, future in admin.create_topics(specs, request_timeout=timeout).items():
        try:
            future.result(timeout)
            created.append(name)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
    wait_for_leaders(admin, [t.topic for t in specs], timeout)
    return created


def partitions(settings: Settings, topics: list[str], timeout: float = 30.0) -> dict[str, int]:
    """Partition counts of the `topics` that exist."""
    meta = AdminClient(client_config(settings)).list_topics(timeout=timeout)
    return {t: len(meta.topics[t].partitions) for t in topics
            if t in meta.topics and meta.topics[t].error is None}


def end_offsets(consumer: Consumer, topic: str, partitions: Iterable[int],
                timeout: float = 30.0) -> dict[int, int]:
    """The end (high watermark) of each partition, asked of its leader. Right after a topic is
    created or a broker restarts the leader may not serve yet: retriable errors are retried."""
    deadline = time.monotonic() + timeout
    retrying = Retrying(stop=lambda _: time.monotonic() > deadline, wait=wait_fixed(0.1),
                        retry=retry_if_exception(_leader_moving), reraise=True)
    return {p: retrying(_high_watermark, consumer, topic, p) for p in partitions}


def _high_watermark(consumer: Consumer, topic: str, partition: int) -> int:
    return int(consumer.get_watermark_offsets(TopicPartition(topic, partition), 5.0, cached=False)[1])


def _leader_moving(exc: BaseException) -> bool:
    error = exc.args[0] if isinstance(exc, KafkaException) and exc.args else None
    return isinstance(error, KafkaError) and (error.retriable() or error.code() in _LEADER_MOVING)


_LEADER_MOVING = (KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE,
                  KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._TIMED_OUT)


def wait_for_leaders(admin: AdminClient, topics: list[str], timeout: float) -> None:
    """Creation returns before every partition has a leader; clients need the leaders."""
    deadline = time.monotonic() + timeout
    while True:
        meta = admin.list_topics(timeout=timeout)
        ready = [t for t in topics if t in meta.topics and meta.topics[t].error is None
                 and meta.topics[t].partitions
                 and all(p.leader >= 0 for p in meta.topics[t].partitions.values())]
        if len(ready) == len(topics):
            return
        if time.monotonic() > deadline:
            raise KafkaException(f"topics without leaders after {timeout:.0f}s: "
                                 f"{sorted(set(topics) - set(ready))}")
        time.sleep(0.1)


def record_for(settings: Settings, event: Event) -> tuple[str, bytes, bytes, list[tuple[str, bytes]]]:
    """(topic, key, value, headers) of an event: submissions go to the ingestion topic."""
    topic = settings.ingestion_topic if event.type == "spec.submitted" else settings.events_topic
    key = event.request_id if event.type == "spec.submitted" else event.project_id
    value = wire.encode(event, settings.schema_registry_url, topic)
    return topic, key.encode(), value, codec.headers(event)


class Publisher:
    """An idempotent producer whose deliveries can be awaited from asyncio or waited on."""

    def __init__(self, settings: Settings, **extra: Any) -> None:
        self.settings = settings
        self._producer = Producer(producer_config(settings, **extra))
        self._closed = threading.Event()
        self._poller = threading.Thread(target=self._poll, daemon=True, name="publisher-poll")
        self._poller.start()

    def _poll(self) -> None:
        while not self._closed.is_set():
            self._producer.poll(0.05)

    async def publish_one(self, event: Event) -> tuple[str, int, int]:
        """Produce one event, wait for its ack; returns where it landed (topic, partition, offset)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[tuple[str, int, int]] = loop.create_future()

        def delivered(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                loop.call_soon_threadsafe(_fail, done, KafkaException(err))
            else:
                where = (msg.topic() or "", msg.partition() or 0, msg.offset() or 0)
                loop.call_soon_threadsafe(_landed, done, where)

        topic, key, value, headers = record_for(self.settings, event)
        self._produce(topic, key, value, headers, delivered)
        return await done

    def publish_sync(self, events: Iterable[Event], timeout: float = 30.0) -> None:
        errors: list[KafkaError] = []

        def delivered(err: KafkaError | None, _msg: Message) -> None:
            if err is not None:
                errors.append(err)

        for event in events:
            topic, key, value, headers = record_for(self.settings, event)
            self._produce(topic, key, value, headers, delivered)
        if self._producer.flush(timeout) or errors:
            raise KafkaException(errors[0] if errors else "delivery timed out")

    def send_raw(self, topic: str, key: bytes | None, value: bytes | None,
                 headers: list[tuple[str, bytes]],
                 on_error: Callable[[KafkaError], None] | None = None) -> None:
        def delivered(err: KafkaError | None, _msg: Message) -> None:
            if err is not None and on_error is not None:
                on_error(err)

        self._produce(topic, key, value, headers, delivered)

    def _produce(self, topic: str, key: bytes | None, value: bytes | None,
                 headers: list[tuple[str, str | bytes | None]] | Any, callback: Any) -> None:
        while True:
            try:
                self._producer.produce(topic, value, key, headers=list(headers), on_delivery=callback)
                return
            except BufferError:  # local queue full: let deliveries drain
                self._producer.poll(0.1)

    def flush(self, timeout: float = 30.0) -> None:
        if self._producer.flush(timeout):
            raise KafkaException("delivery timed out")

    def close(self) -> None:
        self.flush()
        self._closed.set()


def _landed(future: asyncio.Future[tuple[str, int, int]], where: tuple[str, int, int]) -> None:
    if not future.done():
        future.set_result(where)


def _fail(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


def dead_letter_headers(
    topic: str, partition: int, offset: int, error: BaseException, group: str = ""
) -> list[tuple[str, bytes]]:
    """Spring Kafka's `kafka_dlt-*` headers (partition: int32, offset: int64, big-endian)."""
    return [
        ("kafka_dlt-original-topic", topic.encode()),
        ("kafka_dlt-original-partition", struct.pack(">i", partition)),
        ("kafka_dlt-original-offset", struct.pack(">q", offset)),
        ("kafka_dlt-original-consumer-group", group.encode()),
        ("kafka_dlt-exception-fqcn", f"{type(error).__module__}.{type(error).__name__}".encode()),
        ("kafka_dlt-exception-message", str(error).encode()[:4096]),
        ("kafka_dlt-exception-stacktrace",
         "".join(traceback.format_exception(error)).encode()[:16384]),
    ]


def read_dead_letter_headers(headers: list[tuple[str, bytes]] | None) -> dict[str, Any]:
    found = dict(headers or [])
    out: dict[str, Any] = {}
    for name, value in found.items():
        if not name.startswith("kafka_dlt-"):
            continue
        key = name.removeprefix("kafka_dlt-")
        if key == "original-partition":
            out[key] = struct.unpack(">i", value)[0]
        elif key == "original-offset":
            out[key] = struct.unpack(">q", value)[0]
        else:
            out[key] = value.decode(errors="replace")
    return out
