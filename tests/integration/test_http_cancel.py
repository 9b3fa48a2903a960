"""The `http` executor's `cancel_url`: a run the worker stops for good (its task cancelled)
tells the agent, a run merely interrupted (the partition moved) does not, and an agent that
cannot be told delays nothing past `cancel_timeout`. A real agent server on loopback."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response
from servers import serving

from orchestrator.adapters import executors
from orchestrator.adapters.config import Settings
from orchestrator.adapters.stack.proc import free_port
from orchestrator.core.envelope import Actor, Event
from orchestrator.core.events import Executor, Role, TaskStarted
from orchestrator.core.worker.work import Work
from orchestrator.shell.metrics import Metrics
from orchestrator.shell.workers import Executions, Report

pytestmark = pytest.mark.integration
TASK = "p-1/backend/dev/FR-1"


class Agent:
    """Takes a task and works on it (never answers within the test); records cancels."""

    def __init__(self) -> None:
        self.tasks: list[dict[str, Any]] = []
        self.cancels: list[tuple[dict[str, Any], str | None]] = []
        self.got_task = threading.Event()
        self.done = threading.Event()
        self.app = FastAPI()

        @self.app.post("/task")
        async def task(request: Request) -> Response:
            self.tasks.append(await request.json())
            self.got_task.set()
            while not self.done.is_set():  # until the test ends, so the server stops at once
                await asyncio.sleep(0.05)
            return Response("{}", status_code=200, media_type="application/json")

        @self.app.post("/cancel")
        async def cancel(request: Request) -> Response:
            self.cancels.append((await request.json(), request.headers.get("idempotency-key")))
            return Response(status_code=204)


@pytest.fixture
def agent(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Agent, str]]:
    monkeypatch.setenv("ORCH_CALLBACK_SECRET", "test-secret")
    agent = Agent()
    with serving(agent.app) as url:
        try:
            yield agent, url
        finally:
            agent.done.set()


def work(url: str, cancel_url: str) -> Work:
    options = {"url": f"{url}/task", "cancel_url": cancel_url, "timeout": "90s", "retries": "0",
               "cancel_timeout": "1s"}
    return Work("p-1", "r-1", TASK, Role.DEV, "backend", 1, 2, ("FR-1",), "t", None,
                Executor(Role.DEV, "http", None, options))


STARTED = Event("started-1", "p-1", "r-1", None, 0, Actor(Role.DEV, "backend", "dev-1"),
                TaskStarted(TASK, "backend", Role.DEV, 1, 2, 60_000))


def _running(tmp_path: Path, w: Work) -> Executions:
    """The worker shell's executions with the claim running and the agent holding the task."""
    runs = Executions(Settings(run_dir=tmp_path), queue.SimpleQueue[Report](), Metrics())
    runs.sync("p-1", 0, [STARTED], lambda _: w)
    return runs


def _wait_for(check: Any, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_a_stopped_run_posts_its_claim_to_the_cancel_url(agent: tuple[Agent, str], tmp_path: Path) -> None:
    a, url = agent
    runs = _running(tmp_path, work(url, f"{url}/cancel"))
    try:
        assert a.got_task.wait(10)
        runs.sync("p-1", 0, [], lambda _: work(url, f"{url}/cancel"))  # the task was cancelled
        assert _wait_for(lambda: a.cancels)
    finally:
        runs.close()
    body, key = a.cancels[0]
    assert body == {"task_id": TASK, "project_id": "p-1", "attempt": 1, "round": 2}
    assert key == f"{TASK}#1.2"
    assert len(a.cancels) == 1


def test_a_run_interrupted_by_a_moved_partition_tells_the_agent_nothing(
        agent: tuple[Agent, str], tmp_path: Path) -> None:
    """The partition's new owner runs the claim again: the agent keeps the work."""
    a, url = agent
    runs = _running(tmp_path, work(url, f"{url}/cancel"))
    try:
        assert a.got_task.wait(10)
        runs.forget({0})
        time.sleep(1.0)
    finally:
        runs.close()
    assert a.cancels == []
    assert len(a.tasks) == 1


def test_an_unreachable_cancel_url_is_logged_and_the_cancel_completes(
        agent: tuple[Agent, str], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    a, url = agent
    nobody = f"http://127.0.0.1:{free_port()}/cancel"  # nothing listens there

    async def scenario() -> float:
        w = work(url, nobody)
        run = executors.Run()

        async def execute() -> None:
            executors.RUN.set(run)
            await executors.runner_for(w.executor, Settings(run_dir=tmp_path)).run(w)

        task = asyncio.create_task(execute())
        await asyncio.to_thread(a.got_task.wait, 10)
        run.stopped = True
        began = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - began

    with caplog.at_level(logging.WARNING, logger="orchestrator.executors.http"):
        took = asyncio.run(scenario())
    assert took < 5  # bounded by cancel_timeout (1s), never the task's own 90 s
    assert any("cancel of" in r.getMessage() and "failed" in r.getMessage() for r in caplog.records)
