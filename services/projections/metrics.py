"""The projector's Prometheus metrics, served on its health port (`orchestrator.health`).

Events per second is `rate(orchestrator_projector_records_total[1m])`, per outcome.
"""

from __future__ import annotations

from confluent_kafka import Consumer, TopicPartition
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class ProjectorMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.records = Counter(
            "orchestrator_projector_records", "Log records the projector has committed, by outcome "
            "(applied, duplicate: an event id already projected, dead_letter: not decodable)",
            ["outcome"], registry=self.registry)
        self.batch_records = Histogram(
            "orchestrator_projector_batch_records", "Records per projector transaction",
            buckets=(1, 5, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10_000), registry=self.registry)
        self.batch_seconds = Histogram(
            "orchestrator_projector_batch_seconds", "Time to fold and commit one batch",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry)
        self.lag_records = Gauge(
            "orchestrator_projector_lag_records",
            "Records on the log not yet projected (high watermark - stored position)", ["partition"],
            registry=self.registry)
        for outcome in ("applied", "duplicate", "dead_letter"):
            self.records.labels(outcome)

    def applied(self, applied: int, duplicates: int, dead: int) -> None:
        self.records.labels("applied").inc(applied)
        self.records.labels("duplicate").inc(duplicates)
        self.records.labels("dead_letter").inc(dead)

    def batch(self, records: int, seconds: float) -> None:
        self.batch_records.observe(records)
        self.batch_seconds.observe(seconds)

    def lag(self, consumer: Consumer, topic: str, positions: dict[int, int]) -> None:
        """From the high watermark of the last fetch (no broker round trip)."""
        for partition, position in positions.items():
            _low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
            if high >= 0:
                self.lag_records.labels(str(partition)).set(max(0, high - position))
