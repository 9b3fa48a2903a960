"""The service's two Kafka clients, and new ones when either breaks for good.

One consumer (static membership when an instance id is set, cooperative-sticky, offsets
committed only through transactions) and one transactional producer per instance. A
broken client is replaced, not retried forever: memory goes back to the last commit and
the partitions are restored again, because only the broker knows whether the old
producer's last commit landed.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import TYPE_CHECKING

from confluent_kafka import Consumer, KafkaError, TopicPartition

from orchestrator.adapters import bus
from orchestrator.shell import rebalance
from orchestrator.shell.txn import Transactions

if TYPE_CHECKING:
    from orchestrator.shell.loop import Loop

log = logging.getLogger("orchestrator.loop")
RESET_MAX_S = 15.0
QUEUED_KB = 8 * 1024
FETCH_BYTES = 8 * 1024 * 1024


def consumer(loop: Loop) -> Consumer:
    s, parts = loop.parts.settings, loop.parts
    c = Consumer(bus.consumer_config(s, parts.group, **{
        "enable.auto.commit": False,
        "partition.assignment.strategy": "cooperative-sticky",
        "session.timeout.ms": s.session_timeout_ms,
        "heartbeat.interval.ms": max(s.session_timeout_ms // 5, 500),
        # librdkafka prefetches up to 64 MB + a 50 MB fetch by default: a service catching up
        # on a long log held ~290 MB; these bound it without slowing small records
        "queued.max.messages.kbytes": QUEUED_KB, "fetch.max.bytes": FETCH_BYTES,
        "error_cb": lambda error: client_error(loop, error),
        **({"group.instance.id": f"{parts.group}.{s.instance_id}"} if s.instance_id else {}),
    }))
    c.subscribe([parts.topic], on_assign=lambda _, ps: rebalance.assigned(loop, ps),
                on_revoke=lambda _, ps: rebalance.revoked(loop, ps),
                on_lost=lambda _, ps: rebalance.lost(loop, ps))
    return c


def transactions(loop: Loop) -> Transactions:
    return Transactions(loop.parts.settings, f"{loop.parts.group}.{loop.parts.instance}",
                        error_cb=lambda error: client_error(loop, error))


def reset(loop: Loop, why: str) -> None:
    """A client broke for good (seen after a broker restart): start afresh from the last
    commit with new clients. A run of failures backs off (up to RESET_MAX_S) instead of
    exiting: a broker that is down for minutes is waited out, not crash-looped on.

    The consumer is replaced along with the producer, even when only the producer broke: the
    new one fetches from the committed offsets its assignment restores memory from, so both
    come from one place, not from seeking an old consumer whose state after a broker restart
    is unknown (a failed seek there would skip records memory no longer holds)."""
    now = time.monotonic()
    loop.resets = [t for t in loop.resets if now - t < 60] + [now]
    pause = min(RESET_MAX_S, 0.5 * 2 ** (len(loop.resets) - 2)) if len(loop.resets) > 1 else 0.0
    log.warning("new clients in %.1fs after: %s", pause, why)
    time.sleep(pause)
    # the old producer's last commit may have landed or not: only the broker knows, so
    # memory is rebuilt from what it holds (after the new producer fenced the old one)
    rebalance.lost(loop, [TopicPartition(loop.parts.topic, p) for p in loop.positions])
    loop.txn = transactions(loop)
    with contextlib.suppress(Exception):
        loop.consumer.close()
    loop.consumer = consumer(loop)


def client_error(loop: Loop, error: KafkaError) -> None:
    """librdkafka retries on its own; say so once in a while, and tell the clock."""
    now = time.monotonic()
    if now - loop.last_error_log >= 5.0:
        log.warning("kafka: %s", error)
        loop.last_error_log = now
    if loop.clock is not None and error.code() in (KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN):
        loop.clock.broker_error()
