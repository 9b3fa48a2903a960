"""On assignment: each new partition's states from the changelog, not a replay of the log.

The changelog is compacted and written in the same transaction as the outputs and the
input offsets, so once the group's committed offsets are stable (the previous owner's
last transaction settled) the changelog read to its end is exactly the state at those
offsets. Every changelog partition carries a format marker; when it is missing (a new
group, or one from before changelogs) or names another state format, the partition is
rebuilt by folding the log from offset 0 up to the committed offset, and rewritten.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from orchestrator.adapters import bus, kafka_topics, wire
from orchestrator.core import codec
from orchestrator.shell.headers import read_headers
from orchestrator.shell.parts import Parts

log = logging.getLogger("orchestrator.restore")
MARKER = b"\x00format"
TIMEOUT_S = 120.0


@dataclass
class Restored:
    positions: dict[int, int]  # partition -> next offset of the input topic to read
    rebuilt: set[int] = field(default_factory=set)  # partitions rebuilt by replay: rewrite them
    gone: dict[int, set[str]] = field(default_factory=dict)  # keys of rebuilt partitions to tombstone


def restore(parts: Parts, consumer: Consumer, partitions: list[int]) -> Restored:
    """Load `partitions` into `parts.runtime`; returns where to read from and what to rewrite."""
    started = time.monotonic()
    committed = consumer.committed([TopicPartition(parts.topic, p) for p in partitions], TIMEOUT_S)
    positions = {tp.partition: max(tp.offset, 0) for tp in committed}
    stored = read_to_end(parts, parts.changelog, partitions)
    result = Restored(positions)
    for p in partitions:
        records = stored[p]
        if records.pop(MARKER, None) != parts.codec.version.encode():
            result.rebuilt.add(p)
            result.gone[p] = {k.decode() for k in records}
            replay(parts, p, positions[p])
            continue
        for key, value in records.items():
            if value is None:
                parts.runtime.mark_finished(key.decode())
            else:
                state, seen = parts.codec.decode(value)
                parts.runtime.load(key.decode(), p, state, seen)
    parts.metrics.restore_s.observe(time.monotonic() - started)
    log.info("restored partitions %s in %.3fs (rebuilt by replay: %s)", partitions,
             time.monotonic() - started, sorted(result.rebuilt) or "none")
    return result


def read_to_end(parts: Parts, topic: str, partitions: list[int]) -> dict[int, dict[bytes, bytes | None]]:
    """The latest value per key of each partition, read up to the end it has now."""
    reader = _reader(parts)
    latest: dict[int, dict[bytes, bytes | None]] = {p: {} for p in partitions}
    try:
        ends = kafka_topics.end_offsets(reader, topic, partitions, TIMEOUT_S)
        todo = {p for p in partitions if ends[p] > 0}
        reader.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in todo])
        deadline = time.monotonic() + TIMEOUT_S
        while todo:
            for msg in reader.consume(1000, 0.2):
                err = msg.error()
                if err is not None:
                    if err.code() != KafkaError._PARTITION_EOF:
                        raise KafkaException(err)
                    continue
                latest[msg.partition() or 0][msg.key() or b""] = msg.value()
            for tp in reader.position([TopicPartition(topic, p) for p in todo]):
                if tp.offset >= ends[tp.partition]:
                    todo.discard(tp.partition)
            if todo and time.monotonic() > deadline:
                raise TimeoutError(f"{topic} {sorted(todo)}: not read to its end in {TIMEOUT_S:.0f}s")
    finally:
        reader.close()
    return latest


def replay(parts: Parts, partition: int, until: int) -> int:
    """Fold the input partition's records before `until` (no decisions: the log has them)."""
    if until <= 0:
        return 0
    reader = _reader(parts)
    folded = 0
    try:
        reader.assign([TopicPartition(parts.topic, partition, OFFSET_BEGINNING)])
        deadline = time.monotonic() + 10 * TIMEOUT_S
        while reader.position([TopicPartition(parts.topic, partition)])[0].offset < until:
            for msg in reader.consume(1000, 0.2):
                if msg.error() is not None or (msg.offset() or 0) >= until:
                    continue
                if parts.filter.skip(read_headers(msg)) is not None:
                    continue
                try:
                    event = wire.decode(msg.value())
                except codec.DecodeError:
                    continue
                parts.runtime.fold(parts.key_of(event), partition, event)
                folded += 1
            if time.monotonic() > deadline:
                raise TimeoutError(f"replay of {parts.topic}[{partition}] did not reach {until}")
    finally:
        reader.close()
    log.info("replayed %s[%d] up to %d: %d events folded", parts.topic, partition, until, folded)
    return folded


def _reader(parts: Parts) -> Consumer:
    return Consumer(bus.consumer_config(parts.settings, f"{parts.group}-restore-{uuid.uuid4().hex[:8]}", **{
        "enable.auto.commit": False, "enable.partition.eof": True,
        "fetch.max.bytes": 16 * 1024 * 1024, "queued.max.messages.kbytes": 16 * 1024}))
