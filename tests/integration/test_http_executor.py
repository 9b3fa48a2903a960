"""The `http` executor against a real agent server and the real callback route (Kafka)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from servers import serving

from orchestrator.adapters import callback_hub, callbacks, wallclock
from orchestrator.adapters.config import Settings
from orchestrator.adapters.executors import Outcome, Work, runner_for
from orchestrator.adapters.executors.http import encode_artifact
from orchestrator.core.events import Executor, Role
from services.projections.api import create_app

pytestmark = pytest.mark.integration


class Agent:
    """An agent with one behaviour per path; it records every request."""

    def __init__(self) -> None:
        self.calls: dict[str, list[dict[str, Any]]] = {}
        self.app = FastAPI()

        @self.app.post("/{mode}")
        async def task(mode: str, request: Request) -> Response:
            body = await request.json()
            seen = self.calls.setdefault(mode, [])
            seen.append(body)
            match mode:
                case "sync":
                    return _json(200, {"ok": True, "summary": "implemented", "artifacts": [
                        encode_artifact("patch.diff", "text/x-diff", b"+ok\n")]})
                case "qa":
                    return _json(200, {"ok": False, "summary": "1 failing", "failures": ["FR-2"]})
                case "flaky":
                    return _json(500, {"error": "busy"}) if len(seen) == 1 else _json(200, {"ok": True})
                case "bad":
                    return _json(400, {"error": "no such repo"})
                case "down":
                    return _json(503, {"error": "down"})
                case "async":
                    threading.Thread(target=_call_back, args=(body["callback"],), daemon=True).start()
                    return _json(202, {"accepted": True})
            return _json(404, {})


def _json(code: int, body: dict[str, Any]) -> Response:
    import json

    return Response(json.dumps(body), status_code=code, media_type="application/json")


def _call_back(cb: dict[str, Any]) -> None:
    time.sleep(0.3)
    body = {"token": cb["token"], "attempt": cb["attempt"], "round": cb["round"], "ok": True,
            "summary": "done later", "artifacts": [encode_artifact("log.txt", "text/plain", b"later\n")]}
    httpx.post(cb["url"], json=body, timeout=10).raise_for_status()


@pytest.fixture
def env(settings: Settings, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Settings, str, str, Agent]]:
    monkeypatch.setenv("ORCH_CALLBACK_SECRET", "test-secret")
    s = settings.model_copy(update={"run_dir": tmp_path, "artifact_root": str(tmp_path / "artifacts")})
    agent = Agent()
    try:
        with serving(agent.app) as agent_url, serving(create_app(s, s.dsn)) as api_url:
            yield s, agent_url, api_url, agent
    finally:
        callback_hub.stop_hubs()


def work(url: str, api: str, role: Role = Role.DEV, task: str = "p-1/backend/dev/FR-1", attempt: int = 1,
         **options: str) -> Work:
    executor = Executor(role, "http", None, {"url": url, "callback_url": api, "backoff": "50ms",
                                             "wait": "30s", **options})
    return Work("p-1", "r-1", task, role, "backend", attempt, 0, ("FR-1", "FR-2"), "t", None, executor)


def run(s: Settings, w: Work) -> Outcome:
    return asyncio.run(runner_for(w.executor, s).run(w))


def test_a_synchronous_answer_is_the_outcome(env: tuple[Settings, str, str, Agent]) -> None:
    s, agent_url, api, agent = env
    outcome = run(s, work(f"{agent_url}/sync", api))
    assert outcome.ok and outcome.summary == "implemented"
    assert [(a.name, a.content) for a in outcome.attachments] == [("patch.diff", b"+ok\n")]
    sent = agent.calls["sync"][0]
    assert sent["work"]["task_id"] == "p-1/backend/dev/FR-1"
    assert sent["work"]["requirement_ids"] == ["FR-1", "FR-2"]
    assert sent["callback"]["url"] == f"{api}/tasks/p-1/backend/dev/FR-1/callback"
    qa = run(s, work(f"{agent_url}/qa", api, Role.QA, task="p-1/backend/qa/FR-1"))
    assert not qa.ok and qa.failures == ("FR-2",)


def test_an_accepted_task_completes_by_callback(env: tuple[Settings, str, str, Agent]) -> None:
    s, agent_url, api, _ = env
    outcome = run(s, work(f"{agent_url}/async", api, task="p-1/backend/dev/FR-9"))
    assert outcome.ok and outcome.summary == "done later"
    assert [(a.name, a.content) for a in outcome.attachments] == [("log.txt", b"later\n")]


def test_a_5xx_is_retried_and_a_4xx_is_not(env: tuple[Settings, str, str, Agent]) -> None:
    s, agent_url, api, agent = env
    assert run(s, work(f"{agent_url}/flaky", api)).ok
    assert len(agent.calls["flaky"]) == 2
    refused = run(s, work(f"{agent_url}/bad", api))
    assert not refused.ok and "HTTP 400" in refused.summary and "not retried" in refused.summary
    assert len(agent.calls["bad"]) == 1
    down = run(s, work(f"{agent_url}/down", api, retries="2"))
    assert not down.ok and "after 3 tries" in down.summary and len(agent.calls["down"]) == 3


def test_connection_errors_are_retried_then_fail(env: tuple[Settings, str, str, Agent]) -> None:
    s, _, api, _ = env
    from orchestrator.adapters.stack.proc import free_port

    outcome = run(s, work(f"http://127.0.0.1:{free_port()}/x", api, retries="1"))
    assert not outcome.ok and "after 2 tries" in outcome.summary and "ConnectError" in outcome.summary


def test_a_wrong_or_expired_token_is_rejected_and_changes_nothing(
        env: tuple[Settings, str, str, Agent]) -> None:
    s, _, api, _ = env
    task = "p-1/backend/dev/FR-3"
    key = callbacks.secret(s)
    good = callbacks.token(key, task, 1, 0, wallclock.now_ms() + 60_000)
    expired = callbacks.token(key, task, 1, 0, wallclock.now_ms() - 1)
    other_claim = callbacks.token(key, task, 2, 0, wallclock.now_ms() + 60_000)
    forged = callbacks.token(b"not-the-secret", task, 1, 0, wallclock.now_ms() + 60_000)
    url = f"{api}/tasks/{task}/callback"
    for token, why in [(expired, "expired"), (other_claim, "does not match"), (forged, "does not match"),
                       ("garbage", "malformed")]:
        answer = httpx.post(url, json={"token": token, "attempt": 1, "round": 0, "ok": True}, timeout=10)
        assert answer.status_code == 403 and why in answer.json()["detail"]
    # the channel holds nothing for the claim: a valid callback of another task arrives alone
    assert httpx.post(f"{api}/tasks/p-1/backend/dev/FR-4/callback", timeout=10, json={
        "token": callbacks.token(key, "p-1/backend/dev/FR-4", 1, 0, wallclock.now_ms() + 60_000),
        "attempt": 1, "round": 0, "ok": True}).status_code == 202
    hub = callback_hub.hub(s)
    deadline = time.monotonic() + 30
    while ("p-1/backend/dev/FR-4", 1, 0) not in hub.seen and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ("p-1/backend/dev/FR-4", 1, 0) in hub.seen
    assert not any(k[0] == task for k in hub.seen)
    assert httpx.post(url, json={"token": good, "attempt": 1, "round": 0, "ok": True},
                      timeout=10).status_code == 202  # the right token is accepted
