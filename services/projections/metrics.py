"""The projector's Prometheus metrics, served on its health port (`orchestrator.adapters.health`).

Events per second is `rate(orchestrator_projector_records_total[1m])`, per outcome.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from confluent_kafka import Consumer, KafkaException, TopicPartition
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from orchestrator.adapters import bus
from orchestrator.adapters.config import Settings


class ProjectorMetrics:
    def __init__(self, settings: Settings | None = None) -> None:
        self.registry = CollectorRegistry()
        if settings is not None:
            self.registry.register(DeadLetterDepth(settings))
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


class DeadLetterDepth(Collector):
    """`orchestrator_dlq_records`: records on the dead-letter topic, asked of the broker at each
    scrape (on the scraping thread, never the projector's loop). Kafka keeps a re-driven
    letter, so alerts watch this grow rather than its value."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lock = threading.Lock()
        self.consumer: Consumer | None = None

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield self._family()

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily("orchestrator_dlq_records", "Records on the dead-letter topic",
                                 labels=["topic"])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = self._family()
        topic = self.settings.dlq_topic
        with self.lock:
            try:
                if self.consumer is None:
                    self.consumer = Consumer(bus.consumer_config(self.settings, "orchestrator-dlq-depth"))
                parts = self.consumer.list_topics(topic, timeout=2).topics[topic].partitions
                depth = 0
                for p in parts:
                    low, high = self.consumer.get_watermark_offsets(TopicPartition(topic, p), 2, cached=False)
                    depth += max(high - low, 0)
            except (KafkaException, KeyError):
                return  # the broker did not answer in time: no sample rather than a wrong one
        family.add_metric([topic], depth)
        yield family
