"""The projector reads every record, so it alone dead-letters what nobody can decode
(every actor skips such records by header or on decoding): once, with Spring Kafka's
`kafka_dlt-*` headers naming where the record came from."""

from __future__ import annotations

import logging

from confluent_kafka import KafkaException, Producer

from orchestrator.adapters import bus, dead_letters
from orchestrator.adapters.config import Settings
from orchestrator.core import codec
from services.projections.recorder import Letters, Record

log = logging.getLogger("orchestrator.projector")


def letterer(settings: Settings) -> Letters:
    """What sends a batch's undecodable records to the dead-letter topic, acknowledged."""
    producer = Producer(bus.producer_config(settings))
    group = f"{settings.topic_prefix}-projector"

    def send(poison: list[tuple[Record, str]]) -> None:
        for r, reason in poison:
            log.warning("dead-lettering %s[%d]@%d: %s", settings.events_topic, r.partition, r.offset, reason)
            headers = [*(r.headers or []), *dead_letters.dead_letter_headers(
                settings.events_topic, r.partition, r.offset, codec.DecodeError(reason), group)]
            producer.produce(settings.dlq_topic, r.value, r.key, headers=headers)  # type: ignore[arg-type]
        if producer.flush(30):
            raise KafkaException("dead letters not acknowledged within 30s")

    return send
