"""Delivery metrics through the real broker and database: the scenario's known lead time,
change-failure rate and time to restore, from `/metrics/delivery` and `orchestrator report`."""

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


def test_the_scenario_has_its_known_delivery_keys(
        settings: Settings, schema: str, api_headers: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    publish(settings, scenario("dm-1"))  # event i happens at t0 + i ms
    projector.run_until_caught_up(settings, schema)
    with TestClient(create_app(settings, settings.dsn, schema), headers=api_headers) as api:
        found = api.get("/metrics/delivery?project=dm-1").json()
        assert api.get("/metrics/delivery?project=nope").status_code == 404
        assert api.get("/metrics/delivery?since=2023-01-01T00:00:00").status_code == 400
        later = api.get("/metrics/delivery", params={"project": "dm-1",
                                                     "since": "2030-01-01T00:00:00+00:00"}).json()
    keys = found["projects"]["dm-1"]
    assert keys["lead_time_s"] == {"FR-1": 0.018}  # assigned at +4 ms, deployed at +22 ms
    assert (keys["deploys"], keys["qa_failures"], keys["change_failure_rate"]) == (1, 1, 1.0)
    assert keys["time_to_restore_median_s"] == 0.006  # alert at +13 ms, verified at +19 ms
    assert found["areas"]["dm-1/backend"]["deploys"] == 1 and later["projects"] == {}
    env = {"ORCH_KAFKA_BOOTSTRAP": settings.bootstrap, "ORCH_DATABASE_URL": settings.dsn,
           "ORCH_READER_DATABASE_URL": settings.dsn, "ORCH_PROJECTION_SCHEMA": schema,
           "ORCH_TOPIC_PREFIX": settings.topic_prefix, "ORCH_RUN_DIR": str(tmp_path)}
    data = json.loads(CliRunner().invoke(app, ["report", "--project", "dm-1", "--json"], env=env).output)
    assert data == found
    shown = CliRunner().invoke(app, ["report"], env=env, terminal_width=200)
    assert shown.exit_code == 0 and "dm-1" in shown.output
