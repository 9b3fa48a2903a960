"""Kafka clients: safe settings for each kind, and the publisher every writer uses.

librdkafka's defaults are unsafe for us: producers are idempotent with acks=all, and
consumers store an offset only after the record's effects are durable.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from orchestrator.adapters import wire
from orchestrator.adapters.config import Settings
from orchestrator.core import codec
from orchestrator.core.envelope import Event

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




