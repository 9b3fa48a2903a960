"""The query API over a real projection (Kafka + PostgreSQL), through FastAPI's TestClient."""

from __future__ import annotations

import html
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace

import pytest
from confluent_kafka import Consumer
from fastapi.testclient import TestClient
from test_projector import publish, rejected, scenario, schema  # noqa: F401  (fixture)

from orchestrator.adapters import bus
from orchestrator.adapters.config import Settings
from orchestrator.core import codec
from services.projections import projector
from services.projections.api import create_app

pytestmark = pytest.mark.integration


@pytest.fixture
def api(settings: Settings, schema: str, api_headers: dict[str, str]) -> Iterator[TestClient]:  # noqa: F811
    publish(settings, scenario("api-1", "req-1") + scenario("api-2", "req-2") + [rejected("req-bad")])
    projector.run_until_caught_up(settings, schema)
    with TestClient(create_app(settings, settings.dsn, schema), headers=api_headers) as client:
        yield client


def test_projects_paginate_with_an_opaque_cursor(api: TestClient) -> None:
    first = api.get("/projects", params={"limit": 1}).json()
    assert [p["project_id"] for p in first["items"]] == ["api-1"]
    second = api.get("/projects", params={"limit": 1, "cursor": first["next_cursor"]}).json()
    assert [p["project_id"] for p in second["items"]] == ["api-2"]
    assert api.get("/projects", params={"limit": 5}).json()["next_cursor"] is None
    assert api.get("/projects", params={"cursor": "%%%"}).status_code == 422
    assert api.get("/projects", params={"limit": 0}).status_code == 422


def test_project_tasks_events_and_task(api: TestClient) -> None:
    project = api.get("/projects/api-1").json()
    assert project["status"] == "completed" and project["module_list"][0]["tasks_verified"] == 2
    assert api.get("/projects/nope").status_code == 404
    tasks = api.get("/projects/api-1/tasks", params={"role": "dev", "status": "verified"}).json()
    assert [t["task_id"] for t in tasks["items"]] == ["api-1/backend/dev/FR-1"]
    assert api.get("/projects/api-1/tasks", params={"area": "web"}).json()["items"] == []
    events = api.get("/projects/api-1/events", params={"limit": 10}).json()
    assert events["items"][0]["type"] == "project.created" and events["next_cursor"]
    rest = api.get("/projects/api-1/events", params={"limit": 100, "cursor": events["next_cursor"]}).json()
    assert len(events["items"]) + len(rest["items"]) == len(scenario("x"))
    task = api.get("/tasks/api-1/backend/dev/FR-1").json()
    assert task["assignee"] == "w2" and any(e["type"] == "qa.failed" for e in task["events"])
    assert api.get("/tasks/api-1/backend/dev/nope").status_code == 404


def test_requests_and_alerts(api: TestClient) -> None:
    found = api.get("/requests/req-1").json()
    assert found["events"][0]["artifacts"][0]["sha256"] == "ab" * 32
    assert len(found["tasks"]) == 3 and found["rejection"] is None
    assert api.get("/requests/req-bad").json()["rejection"] == [{"path": "name", "message": "required"}]
    assert api.get("/requests/unknown").status_code == 404
    alerts = api.get("/alerts", params={"limit": 1}).json()
    assert len(alerts["items"]) == 1
    more = api.get("/alerts", params={"limit": 1, "cursor": alerts["next_cursor"]}).json()
    assert len(more["items"]) == 1 and more["items"][0]["event_id"] != alerts["items"][0]["event_id"]
    assert api.get("/alerts", params={"project_id": "api-2"}).json()["items"][0]["project_id"] == "api-2"


def test_post_specs_produces_a_submission(api: TestClient, settings: Settings) -> None:
    response = api.post("/specs", content=b"name: shop\n", params={"filename": "shop.yaml"})
    assert response.status_code == 202
    request_id = response.json()["request_id"]
    consumer = Consumer(bus.consumer_config(settings, f"t-{uuid.uuid4()}"))
    consumer.subscribe([settings.specs_topic])
    try:
        deadline, found = time.monotonic() + 30, None
        while found is None and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error():
                event = codec.decode(msg.value())
                found = event if event.request_id == request_id else None
    finally:
        consumer.close()
    assert found is not None and found.payload.document == b"name: shop\n"  # type: ignore[union-attr]
    too_big = b"x" * (settings.max_spec_bytes + 1)
    assert api.post("/specs", content=too_big).status_code == 413


def test_health_readiness_metrics_openapi(api: TestClient, settings: Settings) -> None:
    assert api.get("/healthz").json() == {"status": "ok"}
    assert api.get("/readyz").status_code == 200
    text = api.get("/metrics").text
    assert 'orchestrator_api_request_seconds_count{method="GET",route="/readyz"} 1.0' in text
    by_status = Counter(t["status"] for p in ("api-1", "api-2")
                        for t in api.get(f"/projects/{p}/tasks", params={"limit": 100}).json()["items"])
    assert by_status
    for status, count in by_status.items():  # the read model's tasks, at the scrape
        assert f'orchestrator_tasks{{status="{status}"}} {float(count)}' in text
    assert "/tasks/{task_id}" in api.get("/openapi.json").json()["paths"]
    broken = settings.model_copy(update={"database_url": "postgresql://nobody@127.0.0.1:1/x"})
    with TestClient(create_app(broken)) as client:
        assert client.get("/readyz").status_code == 503


def test_the_live_stream_wakes_a_page_for_a_change_after_its_render_and_across_a_reconnect(
        api: TestClient, settings: Settings, schema: str) -> None:  # noqa: F811
    board = api.get("/ui/projects/api-1").text
    stream = html.unescape(re.search(r'data-live="([^"]+)"', board)[1])  # type: ignore[index]
    assert "since=" in stream
    assert "event: changed" not in api.get(stream + "&for_s=0.6").text  # nothing moved since the render

    last = scenario("api-1", "req-1")[-1]
    publish(settings, [replace(last, event_id=str(uuid.uuid4()))])  # lands before the page's stream opens
    projector.run_until_caught_up(settings, schema)
    woken = api.get(stream + "&for_s=0.6").text
    assert "event: changed" in woken
    seen = re.search(r"^id: (.+)$", woken, re.M)[1]  # type: ignore[index]
    again = api.get(stream + "&for_s=0.6", headers={"Last-Event-ID": seen}).text
    assert "event: changed" not in again  # the reconnect starts from what the page was told
