"""New clients after a broken one (seen after a broker restart): memory goes back to the last
commit and the new consumer reads again from there, so no record folded in the lost
transaction is skipped; a restore that fails inside the reset, or a seek back after an abort
that fails, replaces the consumer again."""

from __future__ import annotations

import time
import uuid
from importlib import import_module

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from orchestrator.adapters import bus, kafka_topics
from orchestrator.adapters.config import Settings
from orchestrator.shell import clients, rebalance, restore, txn
from orchestrator.shell.loop import ConsumerBroken, Loop
from orchestrator.shell.parts import Parts
from orchestrator.shell.service import ensure_changelog
from orchestrator.shell.txn import Pending


def cto_loop(settings: Settings) -> Loop:
    kafka_topics.provision(settings)
    parts = Parts(import_module("services.cto.main").definition(), "all", settings)
    ensure_changelog(parts)
    return Loop(parts)


def steps(loop: Loop, done: object, timeout: float = 60.0) -> None:
    """Step the loop until `done()`; a broken consumer is replaced as `Loop.run` does."""
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:  # type: ignore[operator]
        try:
            loop.step()
        except ConsumerBroken as exc:
            clients.reset(loop, str(exc))
    assert done(), "the loop never got there"  # type: ignore[operator]


def close(loop: Loop) -> None:
    loop.stopping = True
    loop.consumer.close()
    loop.txn.close()


def test_records_read_in_a_lost_transaction_are_read_again_by_the_new_clients(settings: Settings) -> None:
    loop = cto_loop(settings)
    try:
        steps(loop, lambda: loop.positions)
        steps(loop, lambda: loop.committed == loop.positions)
        committed = dict(loop.committed)
        producer = Producer(bus.producer_config(settings))
        for p in committed:
            producer.produce(loop.parts.topic, b"not avro", partition=p)
        producer.flush(30)
        read: list[tuple[int, int]] = []
        real = loop.on_record
        loop.on_record = lambda msg: (read.append((msg.partition() or 0, msg.offset() or 0)),  # type: ignore[method-assign]
                                      real(msg))[1]
        deadline = time.monotonic() + 30
        while len(read) < len(committed) and time.monotonic() < deadline:  # read, not committed
            msg = loop.consumer.poll(0.2)
            if msg is not None:
                loop.on_record(msg)
        assert sorted(p for p, _ in read) == sorted(committed) and loop.positions != committed
        before, read[:] = sorted(read), []

        clients.reset(loop, "a transactional call did not return within 6s")  # the lost transaction
        steps(loop, lambda: len(read) >= len(committed))
        assert sorted(read) == before  # the same records again: each partition from its commit
    finally:
        close(loop)


def test_a_reset_whose_restore_fails_replaces_the_consumer_again_and_restores(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    loop = cto_loop(settings)
    try:
        steps(loop, lambda: loop.positions)
        held = sorted(loop.positions)
        real = restore.restore
        calls: list[int] = []

        def broker_gone_once(*args: object, **kwargs: object) -> restore.Restored:
            calls.append(1)
            if len(calls) == 1:
                raise TimeoutError("Failed to get committed offsets: Local: Timed out")
            return real(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(restore, "restore", broker_gone_once)
        old = loop.consumer
        clients.reset(loop, "a transactional call did not return within 6s")
        assert loop.positions == {} and loop.consumer is not old  # memory from the commit, by a new consumer
        steps(loop, lambda: sorted(loop.positions) == held)
        assert len(calls) >= 2  # the failed restore set loop.broken, and the next consumer restored
    finally:
        close(loop)


def test_an_abort_whose_seek_back_fails_replaces_the_consumer(settings: Settings) -> None:
    loop = cto_loop(settings)
    try:
        steps(loop, lambda: loop.positions)
        held = dict(loop.positions)
        old = loop.consumer
        loop.committed[max(held) + 100] = 0  # a partition this consumer cannot seek: the seek raises
        rebalance.rewind(loop, Pending())
        assert loop.broken is not None and "seek back failed" in loop.broken
        with pytest.raises(ConsumerBroken):  # the next step says so, and Loop.run replaces the consumer
            loop.step()
        clients.reset(loop, "seek back failed")
        steps(loop, lambda: dict(loop.positions) == held)
        assert loop.consumer is not old
    finally:
        close(loop)


def _keys(settings: Settings, topic: str, isolation: str) -> list[tuple[int, bytes | None]]:
    """(partition, key) of every record of `topic` a reader with `isolation` gets."""
    reader = Consumer(bus.consumer_config(settings, f"t-{uuid.uuid4()}", **{
        "isolation.level": isolation, "enable.partition.eof": True, "auto.offset.reset": "earliest"}))
    count = kafka_topics.partitions(settings, [topic])[topic]
    reader.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(count)])
    found, ended = [], set()
    deadline = time.monotonic() + 30
    try:
        while len(ended) < count and time.monotonic() < deadline:
            msg = reader.poll(0.5)
            if msg is None:
                continue
            if msg.error() is not None:
                ended.add(msg.partition())
                continue
            found.append((msg.partition() or 0, msg.key()))
    finally:
        reader.close()
    assert len(ended) == count, f"{topic}: not read to its end"
    return found


def test_leftover_transactions_are_aborted_on_every_partition_the_service_writes(settings: Settings) -> None:
    """What an assignment does before it reads the committed offsets, against markers a
    restarted broker dropped: one record on each partition of each topic the loop writes, in a
    transaction it aborts. A reader that sees uncommitted records finds one per partition; a
    read_committed reader finds none, and nothing is left open (the loop commits after it)."""
    loop = cto_loop(settings)
    try:
        steps(loop, lambda: loop.positions)  # assigned
        topics = sorted({settings.events_topic, loop.parts.changelog})
        for topic in topics:
            count = kafka_topics.partitions(settings, [topic])[topic]
            raw = [p for p, key in _keys(settings, topic, "read_uncommitted") if key == txn.LEFTOVER_KEY]
            assert sorted(raw) == list(range(count)), topic  # written to every partition...
            seen = [k for _, k in _keys(settings, topic, "read_committed") if k == txn.LEFTOVER_KEY]
            assert not seen, topic  # ...and aborted
        steps(loop, lambda: loop.positions)
        steps(loop, lambda: loop.committed == loop.positions)  # the producer commits after it
    finally:
        close(loop)
