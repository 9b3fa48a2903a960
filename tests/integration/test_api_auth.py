"""Bearer tokens on the query API: every route x {no token, bad token, wrong scope, wrong tenant,
right}; tenant isolation; revocation; the write rate."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from confluent_kafka import Consumer
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from servers import serving
from test_projector import publish, scenario, schema  # noqa: F401  (fixture)
from typer.testing import CliRunner

from orchestrator.adapters import bus, tokens
from orchestrator.adapters.config import Settings
from orchestrator.core import codec
from orchestrator.core.position import Token
from orchestrator.entrypoints.cli import app as cli_app
from services.projections import projector
from services.projections.api import create_app

pytestmark = pytest.mark.integration
TASK = "auth-1/backend/dev/FR-1"

# (method, route) -> (scope it needs, a concrete path, the answer to a right token, the answer
# to a token with that scope for another tenant: 404 where the resource is the other's)
ROUTES = {
    ("GET", "/projects"): ("read", "/projects", 200, 200),
    ("GET", "/projects/{project_id}"): ("read", "/projects/auth-1", 200, 404),
    ("GET", "/projects/{project_id}/tasks"): ("read", "/projects/auth-1/tasks", 200, 404),
    ("GET", "/projects/{project_id}/events"): ("read", "/projects/auth-1/events", 200, 404),
    ("GET", "/tasks/{task_id}"): ("read", f"/tasks/{TASK}", 200, 404),
    ("GET", "/requests/{request_id}"): ("read", "/requests/req-auth", 200, 404),
    ("GET", "/alerts"): ("read", "/alerts", 200, 200),
    ("GET", "/projects/{project_id}/chain"): ("read", "/projects/auth-1/chain", 200, 404),
    ("GET", "/projects/{project_id}/traceability"): ("read", "/projects/auth-1/traceability", 200, 404),
    ("GET", "/requests/{request_id}/tree"): ("read", "/requests/req-auth/tree", 200, 404),
    ("GET", "/metrics/delivery"): ("read", "/metrics/delivery", 200, 200),
    ("GET", "/org"): ("read", "/org", 200, 200),
    ("GET", "/projects/{project_id}/org"): ("read", "/projects/auth-1/org", 200, 404),
    ("POST", "/projects/{project_id}/{action}"): ("operate", "/projects/auth-1/pause", 409, 404),
    ("POST", "/projects/{project_id}/modules/{module}/{action}"): (
        "operate", "/projects/auth-1/modules/backend/pause", 409, 404),
    ("GET", "/metrics"): ("read", "/metrics", 200, 200),
    ("GET", "/tokens"): ("admin", "/tokens", 200, 200),
    ("POST", "/specs"): ("submit", "/specs?tenant=default", 202, 403),
    ("POST", "/tasks/{task_id}/complete"): ("operate", f"/tasks/{TASK}/complete", 409, 404),
    ("POST", "/tasks/{task_id}/fail"): ("operate", f"/tasks/{TASK}/fail", 409, 404),
    ("GET", "/approvals"): ("read", "/approvals", 200, 200),
    ("POST", "/approvals/{approval_id}/{action}"): ("operate", "/approvals/none/grant", 404, 404),
    ("POST", "/tasks/{task_id}/reassign"): ("operate", f"/tasks/{TASK}/reassign", 409, 404),
    ("GET", "/ui/projects"): ("read", "/ui/projects", 200, 200),
    ("GET", "/ui/projects/{project_id}"): ("read", "/ui/projects/auth-1", 200, 404),
    ("GET", "/ui/projects/{project_id}/timeline"): ("read", "/ui/projects/auth-1/timeline", 200, 404),
    ("GET", "/ui/requests/{request_id}"): ("read", "/ui/requests/req-auth", 200, 404),
    ("GET", "/ui/tasks/{task_id}"): ("read", f"/ui/tasks/{TASK}", 200, 404),
    ("GET", "/ui/live"): ("read", "/ui/live?project_id=auth-1&for_s=0.1", 200, 404),
    ("POST", "/ui/projects/{project_id}/{action}"): ("operate", "/ui/projects/auth-1/pause", 409, 404),
    ("POST", "/ui/projects/{project_id}/modules/{module}/{action}"): (
        "operate", "/ui/projects/auth-1/modules/backend/pause", 409, 404),
    ("GET", "/ui/approvals"): ("read", "/ui/approvals", 200, 200),
    ("GET", "/ui/org"): ("read", "/ui/org", 200, 200),
    ("POST", "/ui/approvals/{approval_id}/{action}"): ("operate", "/ui/approvals/none/grant", 404, 404),
    ("POST", "/ui/tasks/{task_id}/reassign"): ("operate", f"/ui/tasks/{TASK}/reassign", 409, 404),
}
# open on purpose: probes; the callback carries its own per-claim HMAC token (403 without it);
# the dashboard's sign-in and sign-out (which take or drop a token) and its static files
OPEN = {("GET", "/healthz"), ("GET", "/readyz"), ("POST", "/tasks/{task_id}/callback"),
        ("GET", "/ui/sign-in"), ("POST", "/ui/sign-in"), ("POST", "/ui/sign-out"),
        ("GET", "/ui/static/{name}")}


@pytest.fixture
def world(settings: Settings, schema: str) -> Iterator[tuple[TestClient, Settings]]:  # noqa: F811
    publish(settings, scenario("auth-1", "req-auth"))
    projector.run_until_caught_up(settings, schema)
    quick = settings.model_copy(update={"api_token_cache_s": 0.0})
    with TestClient(create_app(quick, settings.dsn, schema)) as client:
        yield client, settings


def _call(client: TestClient, method: str, path: str, token: str | None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = b"name: shop\n" if path.startswith("/specs") else None
    if path.endswith("/reassign") and path.startswith("/ui/"):  # the task page's form
        body, headers = b"kind=manual", {**headers, "Content-Type": "application/x-www-form-urlencoded"}
    elif path.endswith("/reassign"):  # the one write whose body is required
        body, headers = b'{"executor": {"kind": "manual"}}', {**headers, "Content-Type": "application/json"}
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
    scope, path, ok, elsewhere = ROUTES[route]
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
    assert _call(client, method, path, tokens.create(settings.dsn, ["other"], [scope])) == elsewhere


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


def test_a_tenant_sees_and_acts_on_its_own_projects_only(settings: Settings, schema: str) -> None:  # noqa: F811
    mine = [replace(e, tenant="acme") for e in scenario("acme-1", "req-acme")]
    publish(settings, [*mine, *scenario("dflt-1", "req-dflt")])
    projector.run_until_caught_up(settings, schema)
    acme = {"Authorization": f"Bearer {tokens.create(settings.dsn, ['acme'], ['read', 'submit'])}"}
    both = {"Authorization": "Bearer " + tokens.create(settings.dsn, ["acme", "default"], ["read", "submit"])}
    with TestClient(create_app(settings, settings.dsn, schema)) as client:
        def ids(path: str, who: dict[str, str], key: str = "project_id") -> set[str]:
            return {i[key] for i in client.get(path, headers=who).json()["items"]}

        assert ids("/projects", acme) == {"acme-1"}
        assert ids("/projects", both) == {"acme-1", "dflt-1"}
        assert ids("/alerts", acme) == {"acme-1"}
        assert client.get("/requests/req-acme", headers=acme).json()["tasks"]
        for path in ("/projects/dflt-1", "/projects/dflt-1/tasks", "/projects/dflt-1/events",
                     "/requests/req-dflt", "/tasks/dflt-1/backend/dev/FR-1"):
            assert client.get(path, headers=acme).status_code == 404, path
            assert client.get(path, headers=both).status_code == 200, path
        submitted = client.post("/specs", content=b"x: 1\n", headers=acme)
        assert submitted.status_code == 202 and submitted.json()["tenant"] == "acme"
        assert client.post("/specs", content=b"x: 1\n", headers=both).status_code == 422
        chosen = client.post("/specs?tenant=default", content=b"x: 1\n", headers=both)
        assert chosen.status_code == 202 and chosen.json()["tenant"] == "default"
    assert _submitted_tenant(settings, submitted.json()["request_id"]) == "acme"


def _submitted_tenant(settings: Settings, request_id: str) -> str | None:
    """The tenant the submission carries on the ingestion topic."""
    consumer = Consumer(bus.consumer_config(settings, f"t-{uuid.uuid4()}"))
    consumer.subscribe([settings.specs_topic])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error():
                event = codec.decode(msg.value())
                if event.request_id == request_id:
                    return event.tenant
    finally:
        consumer.close()
    raise AssertionError(f"no submission {request_id} on {settings.specs_topic}")


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


def test_a_read_that_would_wait_is_refused_at_once_without_credentials(
        world: tuple[TestClient, Settings]) -> None:
    client, settings = world
    never = Token(settings.specs_topic, 0, 7, request_id="never-answered").encode()
    began = time.monotonic()
    assert client.get("/projects", params={"after": never}).status_code == 401
    assert time.monotonic() - began < settings.after_timeout_ms / 2000


def test_submit_through_the_api_sends_orch_token(settings: Settings, schema: str, tmp_path: Path) -> None:  # noqa: F811
    spec = tmp_path / "shop.yaml"
    spec.write_text("name: shop\n")
    token = tokens.create(settings.dsn, ["acme"], ["submit"])
    with serving(create_app(settings, settings.dsn, schema)) as url:
        env = {"ORCH_API_URL": url, "ORCH_DATABASE_URL": settings.dsn,
               "ORCH_KAFKA_BOOTSTRAP": settings.bootstrap, "ORCH_TOPIC_PREFIX": settings.topic_prefix}
        done = CliRunner().invoke(cli_app, ["submit", str(spec), "--json"], env={**env, "ORCH_TOKEN": token})
        refused = CliRunner().invoke(cli_app, ["submit", str(spec)], env={**env, "ORCH_TOKEN": ""})
    assert done.exit_code == 0, done.output
    assert _submitted_tenant(settings, json.loads(done.output)["request_id"]) == "acme"
    assert refused.exit_code == 1 and "the API answered 401" in refused.output


def test_the_session_cookie_reads_but_never_writes_and_forms_check_csrf_and_origin(
        world: tuple[TestClient, Settings]) -> None:
    client, settings = world
    token = tokens.create(settings.dsn, ["default"], list(tokens.SCOPES))
    assert client.post("/ui/sign-in", data={"token": "orch_x_" + "y" * 43}).status_code == 401
    foreign = client.post("/ui/sign-in", data={"token": token}, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403 and "orch_session" not in client.cookies
    signed = client.post("/ui/sign-in", data={"token": token, "next": "https://evil.example/"},
                         follow_redirects=False)
    assert signed.status_code == 303 and signed.headers["location"] == "/ui/projects"
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and f"orch_session={token}" in cookie
    assert client.get("/projects").status_code == 200  # the cookie reads, on the API too
    assert client.post("/specs", content=b"name: shop\n").status_code == 401  # and never writes
    assert client.post("/projects/auth-1/pause", json={}).status_code == 401
    assert client.post("/ui/sign-out", data={"csrf": "guessed"}).status_code == 403
    page = client.get("/ui/projects").text
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    assert client.post("/ui/projects/auth-1/pause").status_code == 403  # the board's form: CSRF
    assert client.post("/ui/projects/auth-1/pause", data={"csrf": csrf},
                       headers={"Origin": "https://evil.example"}).status_code == 403
    assert client.post("/ui/projects/auth-1/pause", data={"csrf": csrf}).status_code == 409  # it ended
    module = "/ui/projects/auth-1/modules/backend/pause"  # a module row's form: the same checks
    assert client.post(module).status_code == 403
    foreign_form = client.post(module, data={"csrf": csrf}, headers={"Origin": "https://evil.example"})
    assert foreign_form.status_code == 403
    assert client.post(module, data={"csrf": csrf}).status_code == 409
    # the approvals' and the task page's forms, added since: the same checks, then the API's answer
    for form, fields, answer in (("/ui/approvals/none/grant", {"reason": "ok"}, 404),
                                 (f"/ui/tasks/{TASK}/reassign", {"kind": "manual"}, 409)):
        assert client.post(form, data=fields).status_code == 403, form
        assert client.post(form, data={**fields, "csrf": csrf},
                           headers={"Origin": "https://evil.example"}).status_code == 403, form
        assert client.post(form, data={**fields, "csrf": csrf}).status_code == answer, form
    refused = client.post(f"/ui/tasks/{TASK}/reassign", data={"kind": "manual", "csrf": csrf})
    assert "cannot reassign task" in refused.text  # the API's own refusal, as the error page
    out = client.post("/ui/sign-out", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303 and 'orch_session=""' in out.headers["set-cookie"]
