"""When the pending transaction commits, and what a commit or an abort does to memory.

A transaction commits at once when it carries outputs, within `LAZY_S` when it carries
only state changes, within `IDLE_S` when only offsets moved. Committed: the undo log is
cleared and a worker runs the claims its new states hold. Aborted: memory, positions and
queued results go back to the last commit and the records are read again.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from confluent_kafka import TopicPartition

from orchestrator.shell import clients, rebalance
from orchestrator.shell.txn import Fatal, Pending

if TYPE_CHECKING:
    from orchestrator.shell.loop import Loop

LAZY_S = 0.1
IDLE_S = 1.0


def due(loop: Loop) -> bool:
    since = time.monotonic() - loop.last_commit
    return (loop.pending.urgent or bool(loop.rebuild.markers)
            or (bool(loop.parts.runtime.dirty) and since >= LAZY_S)
            or (loop.positions != loop.committed and since >= IDLE_S))


def commit(loop: Loop) -> bool:
    """Commit what is pending; on abort, roll memory back to the last commit and re-read."""
    p, pending = loop.parts, loop.pending
    changes = [*loop.rebuild.records(p), *rebalance.changelog_records(p)]
    offsets = [TopicPartition(p.topic, part, off) for part, off in loop.positions.items()]
    if not (pending.records or changes or loop.positions != loop.committed):
        return True
    try:
        group = loop.consumer.consumer_group_metadata()
        ok = loop.txn.commit([*pending.records, *changes], offsets, group)
    except Fatal as exc:
        if exc.fenced:
            raise
        clients.reset(loop, str(exc))
        return False
    loop.pending = Pending()
    p.metrics.transactions.labels("committed" if ok else "aborted").inc()
    if not ok:
        rebalance.rewind(loop, pending)
        return False
    loop.last_commit = time.monotonic()
    p.runtime.commit()
    loop.rebuild.committed()
    loop.committed = dict(loop.positions)
    if loop.executions is not None:
        for result in pending.results:
            loop.executions.finished(result.started.event_id)
        for key in pending.touched:
            rebalance.run_claims(loop, key)
    return True
