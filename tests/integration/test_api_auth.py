"""Bearer tokens on the query API: every route x {no token, bad token, wrong scope, right}."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from test_projector import publish, scenario, schema  # noqa: F401  (fixture)
from typer.testing import CliRunner

from orchestrator import tokens
from orchestrator.cli import app as cli_app
from orchestrator.config import Settings
from services.projections import projector
from services.projections.api import create_app

pytestmark = pytest.mark.integration
TASK = "auth-1/backend/dev/FR-1"

# (method, route) -> (scope it needs, a concrete path, the status a right token gets)
ROUTES = {
    ("GET", "/projects"): ("read", "/projects", 200),
    ("GET", "/projects/{project_id}"): ("read", "/projects/auth-1", 200),
    ("GET", "/projects/{project_id}/tasks"): ("read", "/projects/auth-1/tasks", 200),
    ("GET", "/projects/{project_id}/events"): ("read", "/projects/auth-1/events", 200),
    ("GET", "/tasks/{task_id}"): ("read", f"/tasks/{TASK}", 200),
    ("GET", "/requests/{request_id}"): ("read", "/requests/req-auth", 200),
    ("GET", "/alerts"): ("read", "/alerts", 200),
    ("GET", "/metrics"): ("read", "/metrics", 200),
    ("GET", "/tokens"): ("admin", "/tokens", 200),
    ("POST", "/specs"): ("submit", "/specs", 202),
    ("POST", "/tasks/{task_id}/complete"): ("operate", f"/tasks/{TASK}/complete", 409),
    ("POST", "/tasks/{task_id}/fail"): ("operate", f"/tasks/{TASK}/fail", 409),
}
# open on purpose: probes; the callback carries its own per-claim HMAC token (403 without it)
OPEN = {("GET", "/healthz"), ("GET", "/readyz"), ("POST", "/tasks/{task_id}/callback")}


@pytest.fixture
def world(settings: Settings, schema: str) -> Iterator[tuple[TestClient, Settings]]:  # noqa: F811
    publish(settings, scenario("auth-1", "req-auth"))
    projector.run_until_caught_up(settings, schema)
    quick = settings.model_copy(update={"api_token_cache_s": 0.0})
    with TestClient(create_app(quick, settings.dsn, schema)) as client:
        yield client, settings


def _call(client: TestClient, method: str, path: str, token: str | None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = b"name: shop\n" if path == "/specs" else None
    return client.request(method, path, headers=headers, content=body).status_code


def test_every_route_is_in_the_matrix_or_open_on_purpose(world: tuple[TestClient, Settings]) -> None:
    client, _ = world
    served = {(m, r.path.replace(":path", "")) for r in client.app.app.routes  # type: ignore[attr-defined]
              if isinstance(r, APIRoute) for m in r.methods}
    assert served == set(ROUTES) | OPEN


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_each_route_answers_401_403_or_its_answer(world: tuple[TestClient, Settings],
                                                  route: tuple[str, str]) -> None:
    client, settings = world
    scope, path, ok = ROUTES[route]
    method = route[0]
    others = [s for s in tokens.SCOPES if s != scope]
    wrong = tokens.create(settings.dsn, ["default"], others)
    right = tokens.create(settings.dsn, ["default"], [scope])
    forged = right[: right.rindex("_") + 1] + "x" * 43
    assert _call(client, method, path, None) == 401
    assert _call(client, method, path, "not-a-token") == 401
    assert _call(client, method, path, forged) == 401
    assert _call(client, method, path, wrong) == 403
    assert _call(client, method, path, right) == ok


def test_open_routes_and_the_document_take_no_token(world: tuple[TestClient, Settings]) -> None:
    client, _ = world
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.post(f"/tasks/{TASK}/callback", json={"token": "x", "attempt": 1, "round": 0,
                                                        "ok": True}).status_code == 403
    document = client.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert document["paths"]["/projects"]["get"]["security"] == [{"HTTPBearer": []}]
    assert "security" not in document["paths"]["/healthz"]["get"]


def test_a_revoked_token_is_refused(world: tuple[TestClient, Settings]) -> None:
    client, settings = world
    token = tokens.create(settings.dsn, ["default"], ["read"])
    assert _call(client, "GET", "/projects", token) == 200
    assert tokens.revoke(settings.dsn, tokens.parse(token)[0])  # type: ignore[index]
    assert _call(client, "GET", "/projects", token) == 401
    listed = {t["token_id"]: t for t in tokens.listing(settings.dsn)}
    assert listed[tokens.parse(token)[0]]["revoked_at"] is not None  # type: ignore[index]


def test_writes_past_the_rate_answer_429_with_retry_after(settings: Settings, schema: str) -> None:  # noqa: F811
    slow = settings.model_copy(update={"api_write_rate": 0.01, "api_write_burst": 2})
    token = tokens.create(settings.dsn, ["default"], ["submit"])
    other = tokens.create(settings.dsn, ["default"], ["submit"])
    with TestClient(create_app(slow, settings.dsn, schema)) as client:
        assert [_call(client, "POST", "/specs", token) for _ in range(2)] == [202, 202]
        refused = client.post("/specs", content=b"x: 1\n", headers={"Authorization": f"Bearer {token}"})
        assert _call(client, "POST", "/specs", other) == 202  # buckets are per token
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1


def test_the_cli_makes_lists_and_revokes_tokens_without_showing_secrets(settings: Settings) -> None:
    env = {"ORCH_DATABASE_URL": settings.dsn, "ORCH_KAFKA_BOOTSTRAP": settings.bootstrap}
    made = CliRunner().invoke(cli_app, ["tokens", "create", "--tenant", "acme", "--scope", "read",
                                        "--name", "cli-test"], env=env)
    assert made.exit_code == 0, made.output
    token = made.output.strip()
    token_id, secret = tokens.parse(token)  # type: ignore[misc]
    listed = CliRunner().invoke(cli_app, ["tokens", "list", "--json"], env=env)
    assert token_id in listed.output and secret not in listed.output
    bad = CliRunner().invoke(cli_app, ["tokens", "create", "--tenant", "a", "--scope", "root"], env=env)
    assert bad.exit_code == 1 and "unknown scope root" in bad.output
    assert CliRunner().invoke(cli_app, ["tokens", "revoke", token_id], env=env).exit_code == 0
    again = CliRunner().invoke(cli_app, ["tokens", "revoke", token_id], env=env)
    assert again.exit_code == 1 and "no live token" in again.output
