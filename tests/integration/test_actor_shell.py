"""An actor service as its own process against the real broker: decide, dedupe, dead-letter."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer

from orchestrator.adapters import bus, client
from orchestrator.adapters.config import Settings
from orchestrator.adapters.dead_letters import read_dead_letter_headers
from orchestrator.core.envelope import Actor, Event
from orchestrator.core.events import Module, Policy, ProjectCreated, Requirement, Role
from orchestrator.entrypoints import demo

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def project_created(project_id: str) -> Event:
    modules = tuple(Module(area, (Requirement(f"FR-{i}", "x"),)) for i, area in enumerate(["backend", "web"]))
    return Event(str(uuid.uuid4()), project_id, f"r-{project_id}", None, int(time.time() * 1000),
                 Actor(Role.SPEC), ProjectCreated(name=project_id, description="", modules=modules,
                                                  policy=Policy()))


def dead_letters(settings: Settings, count: int, timeout: float = 60) -> list[dict[str, object]]:
    consumer = Consumer(bus.consumer_config(settings, f"dlq-{uuid.uuid4()}"))
    consumer.subscribe([settings.dlq_topic])
    found: list[dict[str, object]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < count and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error():
                found.append(read_dead_letter_headers(msg.headers()))
    finally:
        consumer.close()
    return found


def test_the_cto_plans_each_project_once_and_leaves_poison_to_the_projector(fleet: demo.Fleet) -> None:
    """Records no decider can read are skipped by every actor and dead-lettered once, by the
    projector (which reads every record), not once per consumer group."""
    settings = fleet.settings
    since = int(time.time() * 1000) - 1000
    fleet.start("cto")
    fleet.start("projector")
    first, second = project_created("p-one"), project_created("p-two")
    publisher = bus.Publisher(settings)
    publisher.publish_sync([first, first])  # a duplicate delivery
    raw = Producer({"bootstrap.servers": settings.bootstrap})
    raw.produce(settings.events_topic, b"not avro at all", b"p-one")
    raw.produce(settings.events_topic, b"\xc3\x01" + b"\x00" * 8 + b"body", b"p-one")
    raw.produce(settings.events_topic, b"\xc3\x01garbage", b"p-one", headers=[("type", b"project.created")])
    raw.flush(10)
    publisher.publish_sync([second])
    publisher.close()

    got: list[Event] = []
    for event in client.follow(settings, since, 90, lambda e: e.actor.role == Role.CTO):
        got.append(event)
        if Counter(e.type for e in got)["module.planned"] >= 4:
            break
    by_project = Counter((e.project_id, e.type) for e in got)
    assert by_project[("p-one", "module.planned")] == 2
    assert by_project[("p-one", "charter.created")] == 1
    assert by_project[("p-two", "module.planned")] == 2
    assert all(e.causation_id in (first.event_id, second.event_id) for e in got)
    assert all(e.artifacts for e in got if e.type == "charter.created")

    letters = dead_letters(settings, 3)
    assert {str(d["original-topic"]) for d in letters} == {settings.events_topic}
    assert sorted(int(str(d["original-offset"])) for d in letters) == [2, 3, 4]
    assert {str(d["original-consumer-group"]) for d in letters} == {f"{settings.topic_prefix}-projector"}
    assert any("marker" in str(d["exception-message"]) for d in letters)
    assert any("fingerprint" in str(d["exception-message"]) for d in letters)
    # the CTO's transactions carry its dead letters; it passed the poison before planning p-two
    assert len(dead_letters(settings, 4, timeout=3)) == 3
    assert fleet.dead() == []


@pytest.mark.parametrize("service", ["pm", "projector"])
def test_a_service_answers_health_readiness_and_metrics(service: str, fleet: demo.Fleet) -> None:
    import httpx

    from orchestrator.adapters.stack.proc import free_port

    port = free_port()
    fleet.env["ORCH_HEALTH_PORT"] = str(port)
    fleet.start(service)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    ready = None
    while time.monotonic() < deadline:
        try:
            ready = httpx.get(f"{base}/readyz", timeout=2)
            if ready.status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    assert ready is not None and ready.status_code == 200
    assert httpx.get(f"{base}/healthz", timeout=2).json() == {"status": "ok"}
    metrics = httpx.get(f"{base}/metrics", timeout=2)
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    if service == "pm":
        assert "orchestrator_events_consumed" in metrics.text
    assert fleet.dead() == []
