"""What the loop keeps up besides deciding: standing past the commit markers when idle, the lag
it reports from the last fetches, and pausing the fetch while a worker's queue is full."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from confluent_kafka import TopicPartition

from orchestrator.shell import commit

if TYPE_CHECKING:
    from orchestrator.shell.loop import Loop


def past_markers(loop: Loop) -> None:
    """Idle: the consumer stands past the commit markers after the last record; so do we,
    so that a caught-up group's committed offsets equal the topic's end (lag 0)."""
    now = time.monotonic()
    if now - loop.last_markers < commit.IDLE_S / 2:
        return
    loop.last_markers = now
    topic = loop.parts.topic
    for tp in loop.consumer.position([TopicPartition(topic, p) for p in loop.positions]):
        if tp.offset > loop.positions.get(tp.partition, tp.offset):
            loop.positions[tp.partition] = tp.offset



def report_lag(loop: Loop) -> None:
    """From the high watermarks of the last fetches (no broker round trip)."""
    loop.last_lag = time.monotonic()
    p = loop.parts
    for gone in loop.lagging - set(loop.positions):
        p.metrics.lag.remove(p.group, str(gone))
    loop.lagging = set(loop.positions)
    for partition, position in loop.positions.items():
        _low, high = loop.consumer.get_watermark_offsets(TopicPartition(p.topic, partition), cached=True)
        if high >= 0:
            p.metrics.lag.labels(p.group, str(partition)).set(max(0, high - position))



def flow(loop: Loop) -> None:
    """A worker stops reading while its queue of claims is full."""
    if loop.executions is None:
        return
    full = loop.executions.full
    if full != loop.paused:
        assignment = loop.consumer.assignment()
        (loop.consumer.pause if full else loop.consumer.resume)(assignment)
        loop.paused = full
