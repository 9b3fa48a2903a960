"""One Kafka transaction per commit: outputs, changelog records and input offsets together.

The input offsets go in with the consumer's group metadata (KIP-447), so a zombie whose
partitions moved on cannot commit: its transaction aborts and its outputs are never seen
by `read_committed` readers. Retriable errors are retried (a broker outage blocks here
until it ends); an abortable one aborts and the caller rolls its memory back; a fatal
one stops the process.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaError, KafkaException, Producer, TopicPartition

from orchestrator.adapters import bus, kafka_topics
from orchestrator.adapters.config import Settings
from orchestrator.shell.workers import Result

log = logging.getLogger("orchestrator.txn")
CALL_TIMEOUT_S = 10.0
ATTEMPTS = 4
BOUND_S = 6.0
LEFTOVER_KEY = b"\x00leftover"  # the key of the records `abort_leftovers` writes (and aborts)

# (topic, key, value, headers, partition: -1 lets the key choose)
Out = tuple[str, bytes | None, bytes | None, list[tuple[str, bytes]], int]


@dataclass
class Pending:
    """What the next transaction carries beyond the changed states."""

    records: list[Out] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)  # executions whose outcome it folds
    touched: set[str] = field(default_factory=set)  # keys whose claims to run once committed
    urgent: bool = False  # it carries outputs: commit now


class Fatal(RuntimeError):
    """The producer cannot go on. `fenced`: a newer instance of this same transactional id
    took over, so this process must stop; otherwise a fresh producer can resume."""

    def __init__(self, message: str, fenced: bool = False) -> None:
        super().__init__(message)
        self.fenced = fenced


_FENCED = (KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH)


class Transactions:
    def __init__(self, settings: Settings, transactional_id: str, **extra: Any) -> None:
        self.producer = Producer(bus.producer_config(settings, **{
            "transactional.id": transactional_id,
            "transaction.timeout.ms": settings.transaction_timeout_ms,
            # CONCURRENT_TRANSACTIONS right after a commit: ask again soon, and never back off far
            "retry.backoff.ms": 5, "retry.backoff.max.ms": 50,
            "compression.type": "lz4",
            "message.max.bytes": kafka_topics.CHANGELOG_RECORD_BYTES + 64 * 1024,
            **extra,
        }))
        self.bounded = Bounded()
        _retry(lambda: self.producer.init_transactions(CALL_TIMEOUT_S), attempts=30)

    def commit(self, records: Sequence[Out], offsets: list[TopicPartition],
               group: ConsumerGroupTopicPartitions | Any) -> bool:
        """Produce `records` and commit `offsets` atomically: True, or False when aborted.

        Only the commit itself is retried; any other error aborts (the caller reads the
        batch again). A broker restarted mid-transaction can leave the producer fatally
        broken (INVALID_TXN_STATE on abort): `Fatal` then says whether a new one may resume.
        """
        try:
            self.producer.begin_transaction()
            for topic, key, value, headers, partition in records:
                self._produce(topic, key, value, headers, partition)
            if offsets:
                send = self.producer.send_offsets_to_transaction
                self.bounded(lambda: send(offsets, group, CALL_TIMEOUT_S))
            _retry(lambda: self.producer.commit_transaction(CALL_TIMEOUT_S))
            return True
        except KafkaException as exc:
            self._check(exc)
            log.warning("transaction aborted: %s", exc.args[0])
            try:
                _retry(lambda: self.producer.abort_transaction(CALL_TIMEOUT_S))
            except KafkaException as again:
                self._check(again)
                raise Fatal(f"abort failed: {again}") from again
            return False

    def abort_leftovers(self, partitions: Sequence[tuple[str, int]], offsets: list[TopicPartition],
                        group: ConsumerGroupTopicPartitions | Any) -> None:
        """One transaction over every partition this producer may have left a transaction on
        (one empty record each, and the group's offsets), aborted: its ABORT markers end any
        transaction of this producer id still open there. A single broker restarted mid-commit
        can drop a commit's markers (it skips partitions it finds no leader for, as if
        deleted); every `read_committed` reader of those partitions, and the group's committed
        offsets, then wait on that transaction for good. The aborted records are never read."""
        try:
            self.producer.begin_transaction()
            for topic, partition in partitions:
                self._produce(topic, LEFTOVER_KEY, None, [], partition)
            self.producer.flush(CALL_TIMEOUT_S)  # sent, so their partitions are in the transaction
            send = self.producer.send_offsets_to_transaction
            with contextlib.suppress(KafkaException):  # the group's partition is added before any refusal
                self.bounded(lambda: send(offsets, group, CALL_TIMEOUT_S))
            _retry(lambda: self.producer.abort_transaction(CALL_TIMEOUT_S))
        except KafkaException as exc:
            self._check(exc)
            raise Fatal(f"aborting leftovers failed: {exc}") from exc

    @staticmethod
    def _check(exc: KafkaException) -> None:
        error = exc.args[0]
        if error.fatal() or error.code() in _FENCED:
            raise Fatal(str(error), fenced=error.code() in _FENCED) from exc

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


class Bounded:
    """Calls with a deadline of our own, on one daemon helper thread per producer:
    librdkafka's send_offsets_to_transaction can block past its timeout when the group
    coordinator goes away (librdkafka #5456, #5511), and after a broker restart it did so
    for good. The producer is then given up (`Fatal`); the one that replaces it fences
    this one, and the stuck thread dies with the process. The call takes ~10 ms when the
    broker is well, so a few seconds tells a hang from a slow answer. (A thread per call
    was a measurable part of every commit.)"""

    def __init__(self) -> None:
        self.calls: queue.SimpleQueue[tuple[Callable[[], object], Future[object]]] = queue.SimpleQueue()
        threading.Thread(target=self._serve, daemon=True, name="txn-call").start()

    def __call__(self, call: Callable[[], object], timeout: float = BOUND_S) -> None:
        future: Future[object] = Future()
        self.calls.put((call, future))
        try:
            future.result(timeout)
        except FutureTimeout:
            raise Fatal(f"a transactional call did not return within {timeout:.0f}s") from None

    def _serve(self) -> None:
        while True:
            call, future = self.calls.get()
            try:
                future.set_result(call())
            except BaseException as exc:  # handed to the caller's thread
                future.set_exception(exc)


def _retry(call: Callable[[], object], attempts: int = ATTEMPTS) -> None:
    """Call again after a retriable error, a few times: a call that keeps timing out means a
    producer librdkafka cannot get going again (seen after broker restarts), so it is Fatal."""
    for attempt in range(1, attempts + 1):
        try:
            call()
            return
        except KafkaException as exc:
            error = exc.args[0]
            if not error.retriable() or error.txn_requires_abort() or error.fatal():
                raise
            if attempt == attempts:
                raise Fatal(f"still failing after {attempts} attempts: {error}") from exc
            log.warning("retrying after a retriable error: %s", error)
