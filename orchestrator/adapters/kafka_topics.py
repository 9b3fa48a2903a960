"""Topics: the log, ingestion, dead-letter and changelog topics, their creation, leaders and ends."""

from __future__ import annotations

import time
from collections.abc import Iterable

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from tenacity import Retrying, retry_if_exception, wait_fixed

from orchestrator.adapters.bus import client_config
from orchestrator.adapters.config import Settings
from orchestrator.core import actors

INFINITE = "-1"
CHANGELOG_RECORD_BYTES = 16 * 1024 * 1024  # one project's state; far above any real one


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


def partitions(settings: Settings, topics: list[str], timeout: float = 30.0,
               client: Consumer | None = None) -> dict[str, int]:
    """Partition counts of the `topics` that exist (asked through `client` when given)."""
    meta = (client or AdminClient(client_config(settings))).list_topics(timeout=timeout)
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

