"""The evidence of a request through the API (`/requests/{id}`) and `events --request`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_projector import publish, scenario, schema  # noqa: F401  (fixture)
from typer.testing import CliRunner

from orchestrator.adapters.config import Settings
from orchestrator.entrypoints.cli import app
from services.projections import projector
from services.projections.api import create_app

pytestmark = pytest.mark.integration


def test_tasks_carry_their_attempts_rounds_and_artifacts(settings: Settings, schema: str,  # noqa: F811
                                                         tmp_path: Path) -> None:
    publish(settings, scenario("ev-1", "req-ev"))
    projector.run_until_caught_up(settings, schema)
    with TestClient(create_app(settings.model_copy(update={"api_auth": "off"}), settings.dsn, schema)) as api:
        found = api.get("/requests/req-ev").json()
    dev = next(t for t in found["tasks"] if t["task_id"] == "ev-1/backend/dev/FR-1")
    [attempt] = dev["attempts"]
    assert attempt["attempt"] == 1 and attempt["rounds"] == [0, 1] and attempt["heartbeats"] == 1
    assert [e["type"] for e in attempt["events"]][-1] == "task.completed"
    env = {"ORCH_KAFKA_BOOTSTRAP": settings.bootstrap, "ORCH_DATABASE_URL": settings.dsn,
           "ORCH_READER_DATABASE_URL": settings.dsn, "ORCH_PROJECTION_SCHEMA": schema,
           "ORCH_TOPIC_PREFIX": settings.topic_prefix, "ORCH_RUN_DIR": str(tmp_path)}
    data = json.loads(CliRunner().invoke(app, ["events", "--request", "req-ev", "--json"], env=env).output)
    assert next(t for t in data["tasks"] if t["task_id"] == dev["task_id"])["attempts"][0]["rounds"] == [0, 1]
    table = CliRunner().invoke(app, ["events", "--request", "req-ev"], env=env, terminal_width=250)
    assert table.exit_code == 0 and "evidence of req-ev" in table.output


def test_the_causal_tree_nests_each_event_under_its_cause(
        settings: Settings, schema: str, api_headers: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    events = scenario("ev-2", "req-tree")  # each event caused by the one before it
    publish(settings, events)
    projector.run_until_caught_up(settings, schema)
    with TestClient(create_app(settings, settings.dsn, schema), headers=api_headers) as api:
        found = api.get("/requests/req-tree/tree").json()
        assert api.get("/requests/nope/tree").status_code == 404
    assert found["events"] == len(events) and found["depth"] == len(events)
    [root] = found["roots"]
    assert root["type"] == "project.created" and root["children"][0]["type"] == "charter.created"
    env = {"ORCH_KAFKA_BOOTSTRAP": settings.bootstrap, "ORCH_DATABASE_URL": settings.dsn,
           "ORCH_READER_DATABASE_URL": settings.dsn, "ORCH_PROJECTION_SCHEMA": schema,
           "ORCH_TOPIC_PREFIX": settings.topic_prefix, "ORCH_RUN_DIR": str(tmp_path)}
    data = json.loads(CliRunner().invoke(app, ["trace", "req-tree", "--json"], env=env).output)
    assert data["roots"][0]["event_id"] == events[0].event_id
    shown = CliRunner().invoke(app, ["trace", "req-tree"], env=env, terminal_width=250)
    assert shown.exit_code == 0 and "causal tree of req-tree" in shown.output
    assert shown.output.index("project.created") < shown.output.index("backlog.created")
    assert CliRunner().invoke(app, ["trace"], env=env).exit_code == 1
