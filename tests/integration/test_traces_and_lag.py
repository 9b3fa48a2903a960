"""Traces and shell metrics of services as processes on the real broker: the traceparent on
every record, the exported span tree against the causal tree, consumer lag, hop latency."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Consumer, TopicPartition

from orchestrator.adapters import bus, kafka_topics
from orchestrator.adapters.config import Settings
from orchestrator.core import codec, traceids
from orchestrator.core.envelope import Event
from orchestrator.entrypoints import demo
from orchestrator.shell.headers import read_headers
from services.projections import causal

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
SHOP = REPO / "examples" / "specs" / "shop.yaml"


def everything(settings: Settings, topic: str) -> list[tuple[Event, dict[str, bytes]]]:
    """Every record on `topic` now, decoded, with its headers."""
    consumer = Consumer(bus.consumer_config(settings, f"read-{uuid.uuid4()}"))
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = kafka_topics.end_offsets(consumer, topic, parts)
        consumer.assign([TopicPartition(topic, p, 0) for p in parts])
        out, left = [], {p for p, end in ends.items() if end > 0}
        deadline = time.monotonic() + 60
        while left and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            out.append((codec.decode(msg.value() or b""), read_headers(msg)))
            if (msg.offset() or 0) + 1 >= ends[msg.partition() or 0]:
                left.discard(msg.partition() or 0)
        return out
    finally:
        consumer.close()


def exported_spans(logs: Path) -> dict[int, int | None]:
    """span id -> parent span id of every span the services wrote to their logs."""
    found: dict[int, int | None] = {}
    for log in logs.glob("*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if not line.startswith('{"name"'):
                continue
            span = json.loads(line)
            parent = span["parent_id"]
            found[int(span["context"]["span_id"], 16)] = int(parent, 16) if parent else None
    return found


def test_the_spans_services_export_form_the_causal_tree_of_the_run(fleet: demo.Fleet) -> None:
    settings = fleet.settings
    fleet.env["OTEL_TRACES_EXPORTER"] = "console"
    demo.start_actors(fleet)
    outcome, _ = demo.run(settings, SHOP, 240, echo=False)
    assert outcome == "project.completed"
    assert fleet.dead() == []
    fleet.stop()  # a stopped shell flushes its spans

    records = everything(settings, settings.events_topic) + everything(settings, settings.specs_topic)
    assert records and all(h["traceparent"] == traceids.traceparent(e) for e, h in records)
    events = {e.event_id: e for e, _ in records}
    rows = [{"event_id": e.event_id, "type": e.type, "occurred_at": e.occurred_at,
             "causation_id": e.causation_id} for e in events.values()]
    parents: dict[str, str | None] = {}
    todo: list[tuple[causal.Node, str | None]] = [(r, None) for r in causal.tree(rows)]
    while todo:
        node, parent = todo.pop()
        parents[node["event_id"]] = parent
        todo.extend((c, node["event_id"]) for c in node["children"])
    submitted = {e.event_id for e in events.values() if e.type == "spec.submitted"}
    expected = {traceids.span_id(child): None if parent is None else traceids.span_id(parent)
                for child, parent in parents.items() if child not in submitted}  # the client's, no hop
    assert exported_spans(settings.run_dir / "logs") == expected
    assert len(expected) > 50


def scrape(port: int) -> dict[str, float]:
    """`name{labels}` -> value of the samples on a service's /metrics."""
    out = {}
    for line in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def test_a_service_reports_its_lag_per_partition_and_the_latency_of_its_hops(fleet: demo.Fleet) -> None:
    from orchestrator.adapters.stack.proc import free_port
    from tests.integration.test_actor_shell import project_created

    settings = fleet.settings
    port = free_port()
    fleet.env["ORCH_HEALTH_PORT"] = str(port)
    fleet.start("cto")
    publisher = bus.Publisher(settings)
    publisher.publish_sync([project_created(f"p-{i}") for i in range(6)])
    publisher.close()
    group = settings.group("cto", "all")
    lags = {f'orchestrator_consumer_lag{{group="{group}",partition="{p}"}}'
            for p in range(settings.partitions)}
    deadline = time.monotonic() + 90
    found: dict[str, float] = {}
    while time.monotonic() < deadline:
        try:
            found = scrape(port)
        except httpx.TransportError:
            found = {}
        hops = found.get('orchestrator_hop_latency_seconds_count{type="module.planned"}', 0)
        if hops >= 12 and lags <= found.keys() and all(found[k] == 0 for k in lags):
            break
        time.sleep(0.3)
    assert lags <= found.keys(), sorted(k for k in found if "lag" in k)
    assert all(found[k] == 0 for k in lags)
    assert found['orchestrator_hop_latency_seconds_count{type="module.planned"}'] == 12
    assert found['orchestrator_hop_latency_seconds_sum{type="module.planned"}'] >= 0
    assert fleet.dead() == []


def test_the_projector_reports_the_records_on_the_dead_letter_topic(fleet: demo.Fleet) -> None:
    from confluent_kafka import Producer

    from orchestrator.adapters.stack.proc import free_port

    settings = fleet.settings
    port = free_port()
    fleet.env["ORCH_HEALTH_PORT"] = str(port)
    fleet.start("projector")
    depth = f'orchestrator_dlq_records{{topic="{settings.dlq_topic}"}}'
    deadline = time.monotonic() + 60
    found: dict[str, float] = {}
    while depth not in found and time.monotonic() < deadline:
        try:
            found = scrape(port)
        except httpx.TransportError:
            time.sleep(0.3)
    assert found[depth] == 0
    raw = Producer({"bootstrap.servers": settings.bootstrap})
    for _ in range(2):
        raw.produce(settings.events_topic, b"not avro at all", b"p-poison")
    raw.flush(10)
    while found.get(depth) != 2 and time.monotonic() < deadline + 30:
        found = scrape(port)
        time.sleep(0.3)
    assert found[depth] == 2
    assert found['orchestrator_projector_records_total{outcome="dead_letter"}'] == 2
    assert fleet.dead() == []
