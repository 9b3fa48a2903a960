"""Time travel through the real broker and database: folded up to `project.completed`, the
past equals the live read model; earlier positions and times show the project mid-way."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_projector import publish, query, scenario, schema  # noqa: F401  (fixture)
from typer.testing import CliRunner

from orchestrator.adapters.config import Settings
from orchestrator.entrypoints.cli import app
from services.projections import projector
from services.projections.api import create_app

pytestmark = pytest.mark.integration


def test_as_of_project_completed_equals_the_live_read_model(
        settings: Settings, schema: str, api_headers: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    publish(settings, scenario("tt-1"))
    projector.run_until_caught_up(settings, schema)
    [(part, end)] = query(settings, schema, "SELECT partition, \"offset\" FROM events "
                          "WHERE project_id = 'tt-1' AND type = 'project.completed'")
    [(qa_failed_at,)] = query(settings, schema, "SELECT occurred_at FROM events "
                              "WHERE project_id = 'tt-1' AND type = 'qa.failed'")
    with TestClient(create_app(settings, settings.dsn, schema), headers=api_headers) as api:
        live = api.get("/projects/tt-1").json()
        assert api.get(f"/projects/tt-1?as_of={part}:{end}").json() == live
        live_tasks = api.get("/projects/tt-1/tasks?limit=100").json()
        assert api.get(f"/projects/tt-1/tasks?as_of={part}:{end}").json() == live_tasks
        then = api.get("/projects/tt-1/tasks",
                       params={"as_of": qa_failed_at.isoformat(), "role": "dev"}).json()
        assert [t["status"] for t in then["items"]] == ["qa_failed"]
        assert api.get("/projects/tt-1", params={"as_of": "soon"}).status_code == 400
        start = query(settings, schema, "SELECT \"offset\" FROM events WHERE type = 'project.created' "
                      "AND project_id = 'tt-1'")[0][0]
        first = api.get(f"/projects/tt-1?as_of={part}:{start}").json()
        assert first["status"] == "created" and first["module_list"] == []
        assert api.get("/projects/nope?as_of=5").status_code == 404
    env = {"ORCH_KAFKA_BOOTSTRAP": settings.bootstrap, "ORCH_DATABASE_URL": settings.dsn,
           "ORCH_READER_DATABASE_URL": settings.dsn, "ORCH_PROJECTION_SCHEMA": schema,
           "ORCH_TOPIC_PREFIX": settings.topic_prefix, "ORCH_RUN_DIR": str(tmp_path)}
    past = CliRunner().invoke(app, ["status", "tt-1", "--as-of", qa_failed_at.isoformat(), "--json"], env=env)
    assert json.loads(past.output)["status"] == "created"
    assert CliRunner().invoke(app, ["status", "tt-1", "--as-of", "soon"], env=env).exit_code == 1
