"""The projector's side of the events topic: its partitions, their ends, and a poll that
notes each partition's end (EOF) and drops records at or past a rebuild's target offset."""

from __future__ import annotations

import logging
import uuid

from confluent_kafka import Consumer, KafkaError, KafkaException

from orchestrator.adapters import bus, kafka_topics
from orchestrator.adapters.config import Settings
from services.projections.recorder import Record

log = logging.getLogger("orchestrator.projector")


def partitions(consumer: Consumer, topic: str) -> list[int]:
    meta = consumer.list_topics(topic, timeout=10)
    found = meta.topics.get(topic)
    if found is None or found.error is not None:
        raise RuntimeError(f"topic {topic} is not available: {found.error if found else 'missing'}")
    return sorted(found.partitions)


def high_watermarks(settings: Settings, timeout: float = 30.0) -> dict[int, int]:
    """The end offset of every partition (retried while a new topic's leaders settle)."""
    consumer = Consumer(bus.consumer_config(settings, f"projector-probe-{uuid.uuid4()}"))
    try:
        topic = settings.events_topic
        return kafka_topics.end_offsets(consumer, topic, partitions(consumer, topic), timeout)
    finally:
        consumer.close()


def poll(consumer: Consumer, limit: int, targets: dict[int, int] | None,
         eof: dict[int, int], wait: float, ends: dict[int, int]) -> list[Record]:
    """What is there now, up to `limit`: the first record may take `wait`, the rest none."""
    first = consumer.poll(wait)
    msgs = [] if first is None else [first, *consumer.consume(limit - 1, 0)]
    records = []
    for msg in msgs:
        err = msg.error()
        if err is None:
            record = Record.of(msg)
            if targets is None or record.offset < targets.get(record.partition, 0):
                records.append(record)
        elif err.code() == KafkaError._PARTITION_EOF:
            part, end = msg.partition() or 0, msg.offset() or 0
            eof[part] = end
            ends[part] = min(end, targets.get(part, 0)) if targets is not None else end
        elif err.fatal():
            raise KafkaException(err)
        else:
            log.warning("consumer: %s", err)
    return records
