"""The org chart read model: role.hired / role.released per project area and the instances that
served each role, through `/org`, `/projects/{id}/org` and `orchestrator org`."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from test_projector import publish, scenario, schema  # noqa: F401  (fixture)
from typer.testing import CliRunner

from orchestrator.adapters import tokens
from orchestrator.adapters.config import Settings
from orchestrator.entrypoints.cli import app as cli_app
from services.projections import projector
from services.projections.api import create_app

pytestmark = pytest.mark.integration


@pytest.fixture
def client(settings: Settings, schema: str) -> Iterator[TestClient]:  # noqa: F811
    events = scenario("org-1")
    released = next(i for i, e in enumerate(events) if e.type == "role.released")
    publish(settings, events[:released])  # the hires and the releases in two batches at least
    projector.run_until_caught_up(settings, schema)
    publish(settings, events[released:])
    projector.run_until_caught_up(settings, schema)
    with TestClient(create_app(settings, settings.dsn, schema)) as test_client:
        yield test_client


def _get(client: TestClient, settings: Settings, path: str, tenant: str = "default") -> tuple[int, dict]:
    token = tokens.create(settings.dsn, [tenant], ["read"])
    answer = client.get(path, headers={"Authorization": f"Bearer {token}"})
    return answer.status_code, answer.json()


def test_a_projects_org_shows_each_hired_role_released_and_who_served_it(
        client: TestClient, settings: Settings) -> None:
    status, org = _get(client, settings, "/projects/org-1/org")
    assert status == 200
    roles = {r["name"]: r for r in org["roles"]}
    assert set(roles) == {"pm-backend", "monitor-backend", "dev-backend", "qa-backend", "devops-backend"}
    assert {(r["status"], r["reason"]) for r in roles.values()} == {("released", "module completed")}
    assert all(r["hired_at"] < r["released_at"] for r in roles.values())
    dev = {i["instance"]: i["events"] for i in roles["dev-backend"]["instances"]}
    assert dev == {"w1": 3, "w2": 2}  # w1 started, beat and completed; w2 took the rework
    assert [i["instance"] for i in roles["qa-backend"]["instances"]] == ["q1"]


def test_the_fleets_org_counts_roles_and_instances_per_area(client: TestClient, settings: Settings) -> None:
    status, org = _get(client, settings, "/org?area=backend")
    assert status == 200
    assert {(r["role"], r["serving"], r["released"]) for r in org["roles"]} == {
        (role, 0, 1) for role in ("pm", "monitor", "dev", "qa", "devops")}
    dev = [i for i in org["instances"] if i["role"] == "dev"]
    assert {(i["instance"], i["projects"]) for i in dev} == {("w1", 1), ("w2", 1)}
    assert _get(client, settings, "/org?area=web")[1] == {"roles": [], "instances": []}


def test_another_tenant_sees_no_org_of_this_project(client: TestClient, settings: Settings) -> None:
    assert _get(client, settings, "/projects/org-1/org", "team-x")[0] == 404
    assert _get(client, settings, "/org", "team-x") == (200, {"roles": [], "instances": []})


def test_the_org_command_prints_the_projects_roles(client: TestClient, settings: Settings,
                                                     schema: str) -> None:  # noqa: F811
    env = {"ORCH_DATABASE_URL": settings.dsn, "ORCH_READER_DATABASE_URL": settings.dsn,
           "ORCH_PROJECTION_SCHEMA": schema, "ORCH_KAFKA_BOOTSTRAP": settings.bootstrap}
    result = CliRunner().invoke(cli_app, ["org", "org-1", "--json"], env=env)
    assert result.exit_code == 0, result.output
    roles = {r["name"]: r for r in json.loads(result.output)["roles"]}
    assert roles["dev-backend"]["served_by"] == ["w1", "w2"]
    table = CliRunner().invoke(cli_app, ["org"], env=env)
    assert table.exit_code == 0 and "w2" in table.output, table.output
    missing = CliRunner().invoke(cli_app, ["org", "no-such"], env=env)
    assert missing.exit_code == 1 and "no project" in missing.output
