"""Partitions coming and going, and memory kept equal to what the changelog holds.

Assigned: restore their states (restore.py), resume the claims a worker holds there.
Revoked: commit what is pending first, then forget them. Lost (fenced, or the session
expired): drop what is pending uncommitted. An aborted transaction rewinds: memory back to
the last commit, the consumer back to the committed offsets, results queued again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from confluent_kafka import KafkaException, TopicPartition

from orchestrator.adapters import kafka_topics
from orchestrator.shell import commit, restore
from orchestrator.shell.parts import Parts
from orchestrator.shell.txn import Out, Pending

if TYPE_CHECKING:  # the loop calls in here; only its type is needed
    from orchestrator.shell.loop import Loop

log = logging.getLogger("orchestrator.rebalance")


@dataclass
class Rebuild:
    """Partitions rebuilt by replay: their format marker and stale keys go in the next commit."""

    markers: set[int] = field(default_factory=set)
    gone: dict[int, set[str]] = field(default_factory=dict)

    def add(self, restored: restore.Restored) -> None:
        self.markers |= restored.rebuilt
        for p, keys in restored.gone.items():
            self.gone.setdefault(p, set()).update(keys)

    def records(self, parts: Parts) -> list[Out]:
        out: list[Out] = []
        for p in sorted(self.markers):
            live = {k for k, e in parts.runtime.entries.items() if e.partition == p}
            for key in sorted(self.gone.get(p, set()) - live - set(parts.runtime.dirty)):
                out.append((parts.changelog, key.encode(), None, [], p))
            for key in sorted(live - set(parts.runtime.dirty)):
                entry = parts.runtime.entries[key]
                value = parts.codec.encode(entry.state, entry.seen)
                out.append((parts.changelog, key.encode(), value, [], p))
            out.append((parts.changelog, restore.MARKER, parts.codec.version.encode(), [], p))
        return out

    def committed(self) -> None:
        self.markers.clear()
        self.gone.clear()

    def forget(self, partitions: set[int]) -> None:
        self.markers -= partitions
        for p in partitions:
            self.gone.pop(p, None)


def changelog_records(parts: Parts) -> list[Out]:
    """Every state changed since the last commit; a tombstone for each one that ended."""
    encode = parts.codec.encode
    return [(parts.changelog, key.encode(), None if entry is None else encode(entry.state, entry.seen), [], p)
            for key, p, entry in parts.runtime.changes()]


def assigned(loop: Loop, given: list[TopicPartition]) -> None:
    partitions = sorted(tp.partition for tp in given if tp.topic == loop.parts.topic)
    loop.joined = True
    if not partitions:
        return
    try:
        abort_leftovers(loop, partitions)
        restored = restore.restore(loop.parts, loop.consumer, partitions)
    except Exception as exc:  # the broker went away mid-assignment: start again with new clients
        log.warning("restoring partitions %s failed: %s", partitions, exc)
        loop.broken = f"restore failed: {exc}"
        return
    loop.positions.update(restored.positions)
    loop.committed.update(restored.positions)
    loop.rebuild.add(restored)
    if loop.clock is not None:
        loop.clock.assigned(loop.ends(), loop.positions)
    mine = set(partitions)
    for key in [k for k, e in loop.parts.runtime.entries.items() if e.partition in mine]:
        run_claims(loop, key)


def abort_leftovers(loop: Loop, partitions: list[int]) -> None:
    """Before reading the committed offsets: end whatever transaction this producer id left
    open (a broker restart can drop a commit's markers; see `Transactions.abort_leftovers`),
    on every partition of every topic the loop writes to."""
    s, parts = loop.parts.settings, loop.parts
    topics = sorted({s.events_topic, parts.topic, parts.changelog, s.dlq_topic})
    counts = kafka_topics.partitions(s, topics, restore.TIMEOUT_S, client=loop.consumer)  # no new client
    loop.txn.abort_leftovers([(t, p) for t, n in sorted(counts.items()) for p in range(n)],
                             [TopicPartition(parts.topic, p, 0) for p in partitions],
                             loop.consumer.consumer_group_metadata())


def revoked(loop: Loop, given: list[TopicPartition]) -> None:
    partitions = {tp.partition for tp in given if tp.topic == loop.parts.topic}
    if partitions:
        commit.commit(loop)  # what this instance decided is in before another one takes over
        _drop(loop, partitions)


def lost(loop: Loop, given: list[TopicPartition]) -> None:
    """Fenced or expired: whatever is uncommitted can no longer commit."""
    log.warning("partitions %s lost (fenced, or the session expired): uncommitted work dropped",
                sorted(tp.partition for tp in given))
    loop.parts.runtime.rollback()
    loop.pending = Pending()
    loop.positions = dict(loop.committed)
    _drop(loop, {tp.partition for tp in given if tp.topic == loop.parts.topic})


def _drop(loop: Loop, partitions: set[int]) -> None:
    loop.parts.runtime.forget(partitions)
    loop.rebuild.forget(partitions)
    if loop.executions is not None:
        loop.executions.forget(partitions)
    if loop.clock is not None:
        loop.clock.revoked(partitions)
    for p in partitions:
        loop.positions.pop(p, None)
        loop.committed.pop(p, None)


def rewind(loop: Loop, pending: Pending) -> None:
    """After an abort: memory, positions and queued results as at the last commit. A
    partition the consumer cannot seek back would skip records memory no longer holds:
    the next step replaces the consumer (its assignment restores from the commit)."""
    loop.parts.runtime.rollback()
    for result in pending.results:
        loop.outbox.put(result)
    for p, offset in loop.committed.items():
        try:
            loop.consumer.seek(TopicPartition(loop.parts.topic, p, offset))
        except KafkaException as exc:
            log.warning("no seek back on partition %d: %s; replacing the consumer", p, exc)
            loop.broken = f"seek back failed on partition {p}: {exc}"
    loop.positions = dict(loop.committed)


def run_claims(loop: Loop, key: str) -> None:
    """A worker runs the claims its state holds for `key`, and only those."""
    worker, executions = loop.parts.worker, loop.executions
    if worker is None or executions is None:
        return
    entry = loop.parts.runtime.entries.get(key)
    if entry is None:
        executions.sync(key, -1, [], lambda claim: worker.work_of(None, claim))
        return
    state = entry.state
    executions.sync(key, entry.partition, worker.resume(state), lambda claim: worker.work_of(state, claim))
