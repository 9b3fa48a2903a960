"""What an actor service reports on `/metrics` (prefix `orchestrator_`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from orchestrator.core.envelope import Event

# a hop spans queueing and deciding, or (for a worker's result) the whole execution
HOP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800)
RUN_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600)


def _registry() -> CollectorRegistry:
    return CollectorRegistry()


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=_registry)

    def __post_init__(self) -> None:
        r = self.registry
        self.consumed = Counter("orchestrator_events_consumed", "Records read", ["topic"], registry=r)
        self.skipped = Counter("orchestrator_events_skipped", "Records skipped without deciding",
                               ["reason"], registry=r)
        self.produced = Counter("orchestrator_events_produced", "Events published", ["type"], registry=r)
        self.dead = Counter("orchestrator_dead_letters", "Records dead-lettered", ["topic"], registry=r)
        self.transactions = Counter("orchestrator_transactions", "Kafka transactions", ["outcome"],
                                    registry=r)
        self.batch = Histogram("orchestrator_batch_records", "Records per consumed batch", registry=r,
                               buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500))
        self.lag = Gauge("orchestrator_consumer_lag", "Records on the topic not yet handled "
                         "(high watermark - next offset), per partition held", ["group", "partition"],
                         registry=r)
        self.hop = Histogram("orchestrator_hop_latency_seconds", "From a cause's occurred-at to the "
                             "decision on it, by the type of event decided", ["type"], registry=r,
                             buckets=HOP_BUCKETS)
        self._hops: dict[str, Any] = {}
        self.execution = Histogram("orchestrator_executor_duration_seconds", "One executor run of a "
                                   "claim, by executor kind and outcome (succeeded, failed, crashed)",
                                   ["kind", "outcome"], registry=r, buckets=RUN_BUCKETS)
        self.alive = Gauge("orchestrator_loop_heartbeat_timestamp_seconds", "When the record loop last "
                           "went round (it polls at least every 0.2 s): a stale value is a stuck loop",
                           registry=r)
        self.alive.set_to_current_time()
        self.live = Gauge("orchestrator_live_keys", "Projects (or requests) held in memory", registry=r)
        self.restore_s = Histogram("orchestrator_restore_seconds", "Restoring assigned partitions",
                                   registry=r, buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))

    def hops(self, decided: list[tuple[Event, Event]]) -> None:
        """Each (as decided, as stamped) output: deciders copy the cause's time, the shell stamps now."""
        for before, after in decided:
            child = self._hops.get(after.type)
            if child is None:  # labels() takes a lock and builds a key: once per type
                child = self._hops[after.type] = self.hop.labels(after.type)
            child.observe(max(after.occurred_at - before.occurred_at, 0) / 1000)
