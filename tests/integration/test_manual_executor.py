"""The `manual` executor: a person completes or fails claimed tasks through the CLI and the API."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_projector import publish, schema  # noqa: F401  (fixture)
from typer.testing import CliRunner

from orchestrator.adapters import callback_hub
from orchestrator.adapters.config import Settings
from orchestrator.adapters.executors import Outcome, Work, runner_for
from orchestrator.core import exitcodes
from orchestrator.core.envelope import Actor, Event
from orchestrator.core.events import Executor, Payload, Role, TaskAssigned, TaskReassigned, TaskStarted
from orchestrator.entrypoints.cli import app
from services.projections import projector
from services.projections.api import create_app

pytestmark = pytest.mark.integration
P, AREA = "manual-1", "backend"
DEV, QA, AUTO = f"{P}/{AREA}/dev/FR-1", f"{P}/{AREA}/qa/FR-1", f"{P}/{AREA}/dev/FR-2"
HANDED = f"{P}/{AREA}/dev/FR-3"


def ev(payload: Payload, role: Role, at: int) -> Event:
    return Event(str(uuid.uuid4()), P, "req-manual", None, 1_700_000_000_000 + at,
                 Actor(role, AREA, f"{role.value}-1"), payload)


def claimed(task_id: str, role: Role, kind: str, at: int) -> list[Event]:
    exe = Executor(role, kind)
    return [ev(TaskAssigned(task_id, AREA, role, 1, ("FR-1",), "t", 60_000, 3000, exe), Role.PM, at),
            ev(TaskStarted(task_id, AREA, role, 1, 0, 3000), role, at + 1)]


def work(task_id: str, role: Role) -> Work:
    return Work(P, "req-manual", task_id, role, AREA, 1, 0, ("FR-1",), "t", None,
                Executor(role, "manual", None, {"wait": "60s"}))


def cli_env(s: Settings, name: str, run_dir: Path) -> dict[str, str]:
    return {"ORCH_KAFKA_BOOTSTRAP": s.bootstrap, "ORCH_DATABASE_URL": s.dsn,
            "ORCH_READER_DATABASE_URL": s.dsn, "ORCH_PROJECTION_SCHEMA": name,
            "ORCH_TOPIC_PREFIX": s.topic_prefix, "ORCH_RUN_DIR": str(run_dir),
            "ORCH_ARTIFACT_ROOT": s.artifacts}


@pytest.fixture
def world(settings: Settings, schema: str, tmp_path: Path) -> Iterator[tuple[Settings, str]]:  # noqa: F811
    s = settings.model_copy(update={"run_dir": tmp_path, "artifact_root": str(tmp_path / "artifacts")})
    publish(s, [*claimed(DEV, Role.DEV, "manual", 0), *claimed(QA, Role.QA, "manual", 10),
                *claimed(AUTO, Role.DEV, "simulated", 20), *claimed(HANDED, Role.DEV, "simulated", 30),
                ev(TaskReassigned(HANDED, AREA, Role.DEV, Executor(Role.DEV, "manual")), Role.PM, 32)])
    projector.run_until_caught_up(s, schema)
    try:
        yield s, schema
    finally:
        callback_hub.stop_hubs()


def test_a_person_completes_by_cli_and_fails_by_api(world: tuple[Settings, str], tmp_path: Path,
                                                    api_headers: dict[str, str]) -> None:
    s, name = world
    evidence = tmp_path / "review.md"
    evidence.write_text("looks good\n")
    env = cli_env(s, name, tmp_path)
    api = TestClient(create_app(s, s.dsn, name), headers=api_headers)

    def by_hand() -> None:
        done = CliRunner().invoke(app, ["task", "complete", DEV, "--artifact", str(evidence),
                                        "--note", "reviewed by ana"], env=env)
        assert done.exit_code == 0, done.output
        assert "completed (attempt 1, round 0)" in done.output
        answer = api.post(f"/tasks/{QA}/fail", json={"note": "login broken", "artifacts": [
            {"name": "shot.txt", "media_type": "text/plain",
             "content_b64": base64.b64encode(b"x").decode()}]})
        assert answer.status_code == 202, answer.text
        assert answer.json()["artifacts"][0]["name"] == "shot.txt"

    async def scenario() -> tuple[Outcome, Outcome]:
        dev = asyncio.create_task(runner_for(work(DEV, Role.DEV).executor, s).run(work(DEV, Role.DEV)))
        qa = asyncio.create_task(runner_for(work(QA, Role.QA).executor, s).run(work(QA, Role.QA)))
        await asyncio.to_thread(by_hand)
        return await asyncio.wait_for(dev, 60), await asyncio.wait_for(qa, 60)

    dev, qa = asyncio.run(scenario())
    assert dev.ok and dev.summary == "reviewed by ana"
    assert [(a.name, a.content) for a in dev.attachments] == [("review.md", b"looks good\n")]
    assert not qa.ok and qa.failures == ("FR-1",) and qa.summary == "login broken"
    assert [a.name for a in qa.attachments] == ["shot.txt"]


def test_only_a_waiting_manual_task_takes_a_verdict(world: tuple[Settings, str], tmp_path: Path,
                                                    api_headers: dict[str, str]) -> None:
    s, name = world
    api = TestClient(create_app(s, s.dsn, name), headers=api_headers)
    assert api.post(f"/tasks/{P}/{AREA}/dev/nope/complete").status_code == 404
    refused = api.post(f"/tasks/{AUTO}/complete")
    assert refused.status_code == 409 and "simulated" in refused.json()["detail"]
    env = cli_env(s, name, tmp_path)
    done = CliRunner().invoke(app, ["task", "fail", AUTO], env=env)
    assert done.exit_code == exitcodes.REFUSED and "not manual" in done.output


def test_a_task_handed_to_a_person_takes_a_verdict_only_on_its_new_claim(
        world: tuple[Settings, str], api_headers: dict[str, str]) -> None:
    s, name = world
    api = TestClient(create_app(s, s.dsn, name), headers=api_headers)
    early = api.post(f"/tasks/{HANDED}/complete")  # `started` is still the superseded claim's
    assert early.status_code == 409 and "new claim has not started" in early.json()["detail"]
    publish(s, [ev(TaskStarted(HANDED, AREA, Role.DEV, 1, 1, 3000), Role.DEV, 40)])
    projector.run_until_caught_up(s, name)
    settled = api.post(f"/tasks/{HANDED}/complete")
    assert settled.status_code == 202, settled.text
    assert (settled.json()["attempt"], settled.json()["round"]) == (1, 1)


def test_a_manual_claim_nobody_settles_fails_on_its_own_after_wait(world: tuple[Settings, str]) -> None:
    s, _ = world
    w = work(DEV, Role.DEV)
    w = Work(**{**w.__dict__, "executor": Executor(Role.DEV, "manual", None, {"wait": "1s"})})
    outcome = asyncio.run(runner_for(w.executor, s).run(w))
    assert not outcome.ok and "no verdict from a person within 1s" in outcome.summary
