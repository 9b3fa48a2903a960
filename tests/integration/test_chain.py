"""The tamper-evident history through the real broker and database: the projector seals a
project when it ends, `verify` and `/projects/{id}/chain` agree with the log, and a read
model that was rewritten behind the log's back is named at its first bad link."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_projector import publish, query, scenario, schema  # noqa: F401  (fixture)
from typer.testing import CliRunner

from orchestrator.adapters.config import Settings
from orchestrator.core import exitcodes
from orchestrator.entrypoints.cli import app
from services.projections import chain, projector, seal
from services.projections.api import create_app

pytestmark = pytest.mark.integration


def verify(settings: Settings, schema: str, tmp_path: Path, project_id: str) -> tuple[int, dict]:  # noqa: F811
    env = {"ORCH_KAFKA_BOOTSTRAP": settings.bootstrap, "ORCH_DATABASE_URL": settings.dsn,
           "ORCH_READER_DATABASE_URL": settings.dsn, "ORCH_PROJECTION_SCHEMA": schema,
           "ORCH_TOPIC_PREFIX": settings.topic_prefix, "ORCH_RUN_DIR": str(tmp_path)}
    found = CliRunner().invoke(app, ["verify", project_id, "--json"], env=env)
    return found.exit_code, json.loads(found.output)


def test_a_sealed_project_verifies_and_a_rewritten_event_is_named(
        settings: Settings, schema: str, api_headers: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    events = scenario("ch-1")
    publish(settings, events)
    projector.run_until_caught_up(settings, schema, seal=seal.sealer(settings))
    projector.run_until_caught_up(settings, schema)  # the seal itself, now on the log
    expected = chain.head(chain.links([chain.of_event(e) for e in events]))
    [(payload,)] = query(settings, schema, "SELECT payload FROM events WHERE type = 'project.sealed'")
    assert payload == {"head": expected, "length": len(events), "last_event_id": events[-1].event_id}
    publish(settings, [events[-1]])  # project.completed delivered again: no second seal
    projector.run_until_caught_up(settings, schema, seal=seal.sealer(settings))
    assert [r["type"] for r in seal.log_rows(settings, "ch-1")].count("project.sealed") == 1
    code, found = verify(settings, schema, tmp_path, "ch-1")
    assert code == 0 and found["ok"] and found["head"] == expected and found["divergence"] is None
    with TestClient(create_app(settings, settings.dsn, schema), headers=api_headers) as api:
        served = api.get("/projects/ch-1/chain").json()
        assert served["head"] == expected and served["intact"] and served["length"] == len(events)
        assert api.get("/projects/nope/chain").status_code == 404
    query(settings, schema, "UPDATE events SET payload = jsonb_set(payload, '{summary}', '\"forged\"') "
          "WHERE event_id = %s RETURNING 1", events[9].event_id)
    code, found = verify(settings, schema, tmp_path, "ch-1")
    assert code == exitcodes.INTEGRITY and found["divergence"] == {"at": 9, "expected": events[9].event_id,
                                                 "found": events[9].event_id}
    with TestClient(create_app(settings, settings.dsn, schema), headers=api_headers) as api:
        served = api.get("/projects/ch-1/chain").json()
    assert not served["intact"] and served["seals"][0]["first_bad_link"] == len(events) - 1
