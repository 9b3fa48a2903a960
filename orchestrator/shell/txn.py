"""One Kafka transaction per commit: outputs, changelog records and input offsets together.

The input offsets go in with the consumer's group metadata (KIP-447), so a zombie whose
partitions moved on cannot commit: its transaction aborts and its outputs are never seen
by `read_committed` readers. Retriable errors are retried (a broker outage blocks here
until it ends); an abortable one aborts and the caller rolls its memory back; a fatal
one stops the process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, Producer, TopicPartition

from orchestrator import bus
from orchestrator.config import Settings

log = logging.getLogger("orchestrator.txn")
CALL_TIMEOUT_S = 30.0

# (topic, key, value, headers, partition: -1 lets the key choose)
Out = tuple[str, bytes | None, bytes | None, list[tuple[str, bytes]], int]


class Fatal(RuntimeError):
    """The producer cannot go on (fenced by a newer instance of itself, or broken)."""


class Transactions:
    def __init__(self, settings: Settings, transactional_id: str, **extra: Any) -> None:
        self.producer = Producer(bus.producer_config(settings, **{
            "transactional.id": transactional_id,
            "transaction.timeout.ms": settings.transaction_timeout_ms,
            "retry.backoff.ms": 10,  # CONCURRENT_TRANSACTIONS right after a commit: ask again soon
            "compression.type": "lz4",
            "message.max.bytes": bus.CHANGELOG_RECORD_BYTES + 64 * 1024,
            **extra,
        }))
        _retry(lambda: self.producer.init_transactions(CALL_TIMEOUT_S))

    def commit(self, records: Sequence[Out], offsets: list[TopicPartition],
               group: ConsumerGroupTopicPartitions | Any) -> bool:
        """Produce `records` and commit `offsets` atomically: True, or False when aborted."""
        try:
            self.producer.begin_transaction()
            for topic, key, value, headers, partition in records:
                self._produce(topic, key, value, headers, partition)
            if offsets:
                _retry(lambda: self.producer.send_offsets_to_transaction(offsets, group, CALL_TIMEOUT_S))
            _retry(lambda: self.producer.commit_transaction(CALL_TIMEOUT_S))
            return True
        except KafkaException as exc:
            error = exc.args[0]
            if error.fatal():
                raise Fatal(str(error)) from exc
            log.warning("transaction aborted: %s", error)
            try:
                _retry(lambda: self.producer.abort_transaction(CALL_TIMEOUT_S))
            except KafkaException as again:
                raise Fatal(f"abort failed: {again}") from again
            return False

    def _produce(self, topic: str, key: bytes | None, value: bytes | None,
                 headers: list[tuple[str, bytes]], partition: int) -> None:
        while True:
            try:
                self.producer.produce(topic, value, key, partition=partition,
                                      headers=list[tuple[str, str | bytes | None]](headers))
                return
            except BufferError:  # the local queue is full: let it drain
                self.producer.poll(0.05)

    def close(self) -> None:
        self.producer.flush(CALL_TIMEOUT_S)


def _retry(call: Callable[[], object]) -> None:
    while True:
        try:
            call()
            return
        except KafkaException as exc:
            error = exc.args[0]
            if not error.retriable() or error.txn_requires_abort() or error.fatal():
                raise
            log.warning("retrying after a retriable error: %s", error)
