"""What an actor service reports on `/metrics` (prefix `orchestrator_`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


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
        self.lag = Gauge("orchestrator_consumer_lag", "Records on the topic not yet handled",
                         ["group", "partition"], registry=r)
        self.live = Gauge("orchestrator_live_keys", "Projects (or requests) held in memory", registry=r)
        self.restore_s = Histogram("orchestrator_restore_seconds", "Restoring assigned partitions",
                                   registry=r, buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
