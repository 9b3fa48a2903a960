"""Requirement traceability through the real broker and database: the API (JSON, CSV,
manifest) and `orchestrator trace --project` with its export agree on one project's life."""

from __future__ import annotations

import csv
import hashlib
import io
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


def test_fr1_shows_its_failed_and_passed_qa_rework_and_total_deploy(
        settings: Settings, schema: str, api_headers: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    publish(settings, scenario("tr-1"))
    projector.run_until_caught_up(settings, schema)
    with TestClient(create_app(settings, settings.dsn, schema), headers=api_headers) as api:
        [fr] = api.get("/projects/tr-1/traceability").json()["requirements"]
        lines = list(csv.DictReader(io.StringIO(api.get("/projects/tr-1/traceability?format=csv").text)))
        assert api.get("/projects/tr-1/traceability?format=manifest").json()["files"]
        assert api.get("/projects/nope/traceability").status_code == 404
        assert api.get("/projects/tr-1/traceability?format=xml").status_code == 422
    assert fr["requirement"] == "FR-1" and fr["status"] == "deployed"
    kinds = ("qa", "rework", "deploy", "smoke")
    steps = [(e["kind"], e["outcome"]) for e in fr["evidence"] if e["kind"] in kinds]
    assert steps == [("qa", "failed"), ("rework", "requested"), ("qa", "passed"), ("deploy", "deployed"),
                     ("smoke", "passed")]
    assert len(lines) == len(fr["evidence"])
    env = {"ORCH_KAFKA_BOOTSTRAP": settings.bootstrap, "ORCH_DATABASE_URL": settings.dsn,
           "ORCH_READER_DATABASE_URL": settings.dsn, "ORCH_PROJECTION_SCHEMA": schema,
           "ORCH_TOPIC_PREFIX": settings.topic_prefix, "ORCH_RUN_DIR": str(tmp_path)}
    out = tmp_path / "audit"
    table = CliRunner().invoke(app, ["trace", "--project", "tr-1", "--export", str(out)], env=env,
                               terminal_width=200)
    assert table.exit_code == 0 and "FR-1" in table.output and "1/1" in table.output
    manifest = json.loads((out / "manifest.json").read_text())
    digest = hashlib.sha256((out / "traceability.csv").read_bytes()).hexdigest()
    assert manifest["files"]["traceability.csv"] == digest
    missing = CliRunner().invoke(app, ["trace", "--project", "nope"], env=env)
    assert missing.exit_code == 1 and "no project nope" in missing.output
