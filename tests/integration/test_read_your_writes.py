"""Read-your-writes: a write answers with a position token; a read given it waits until the
projection shows that write (or 504 with the positions reached); `submit --wait` uses it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_manual_executor import AREA, DEV, claimed, ev
from test_projector import publish, rejected, schema  # noqa: F401  (fixture)
from typer.testing import CliRunner

from orchestrator.adapters.config import Settings
from orchestrator.core import exitcodes
from orchestrator.core.events import Role, TaskCompleted
from orchestrator.core.position import Token
from orchestrator.entrypoints import demo
from orchestrator.entrypoints.cli import app
from services.projections import projector
from services.projections.api import create_app

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


@contextmanager
def live_projector(settings: Settings, schema: str) -> Iterator[None]:  # noqa: F811
    stop, ready = threading.Event(), threading.Event()
    thread = threading.Thread(target=projector.run, args=(settings, schema),
                              kwargs={"stop": stop, "ready": ready}, daemon=True)
    thread.start()
    assert ready.wait(30)
    try:
        yield
    finally:
        stop.set()
        thread.join(30)


@pytest.fixture
def world(settings: Settings, schema: str, tmp_path: Path) -> Iterator[tuple[Settings, str]]:  # noqa: F811
    s = settings.model_copy(update={"run_dir": tmp_path, "artifact_root": str(tmp_path / "a"),
                                    "after_timeout_ms": 20_000})
    publish(s, claimed(DEV, Role.DEV, "manual", 0))
    projector.run_until_caught_up(s, schema)
    yield s, schema


def test_a_read_after_a_submission_waits_for_specs_answer(world: tuple[Settings, str],
                                                         api_headers: dict[str, str]) -> None:
    s, name = world
    with TestClient(create_app(s, s.dsn, name), headers=api_headers) as api, live_projector(s, name), \
            ThreadPoolExecutor(1) as pool:
        answer = api.post("/specs", content=b"name: shop\n").json()
        token = Token.decode(answer["position"])
        assert token.topic == s.specs_topic and token.request_id == answer["request_id"]
        pending = pool.submit(api.get, f"/requests/{answer['request_id']}",
                              headers={"X-Orchestrator-After": answer["position"]})
        publish(s, [rejected(answer["request_id"])])  # SPEC's answer, on the events topic
        got = pending.result(timeout=60)
    assert got.status_code == 200, got.text
    assert got.json()["rejection"] == [{"path": "name", "message": "required"}]


def test_a_read_after_a_verdict_sees_the_task_settled(world: tuple[Settings, str],
                                                      api_headers: dict[str, str]) -> None:
    s, name = world
    with TestClient(create_app(s, s.dsn, name), headers=api_headers) as api, live_projector(s, name), \
            ThreadPoolExecutor(1) as pool:
        answer = api.post(f"/tasks/{DEV}/complete", json={"note": "done"})
        assert answer.status_code == 202, answer.text
        assert Token.decode(answer.json()["position"]).task == (DEV, 1, 0)
        pending = pool.submit(api.get, f"/tasks/{DEV}", params={"after": answer.json()["position"]})
        publish(s, [ev(TaskCompleted(DEV, AREA, Role.DEV, 1, 0, "done"), Role.DEV, 5)])  # the worker's
        got = pending.result(timeout=60)
    assert got.status_code == 200 and got.json()["status"] == "completed"


def test_a_write_never_projected_times_out_with_the_positions_reached(world: tuple[Settings, str],
                                                                      api_headers: dict[str, str]) -> None:
    s, name = world
    quick = s.model_copy(update={"after_timeout_ms": 300})
    never = Token(s.specs_topic, 0, 7, request_id="never-answered").encode()
    with TestClient(create_app(quick, s.dsn, name), headers=api_headers) as api:
        late = api.get("/projects/anything", params={"after": never})
        assert api.get("/projects", params={"after": "not-a-token"}).status_code == 422
    assert late.status_code == 504
    body = late.json()
    assert body["position"] == never and sum(body["reached"].values()) == 2  # the two claimed events


def test_submit_wait_reads_the_outcome_from_the_projection(fleet: demo.Fleet, schema: str,  # noqa: F811
                                                           tmp_path: Path) -> None:
    fleet.env["ORCH_PROJECTION_SCHEMA"] = schema
    fleet.start("spec")
    fleet.start("projector")
    env = {**demo.settings_env(fleet.settings), **fleet.env, "ORCH_READER_DATABASE_URL": fleet.settings.dsn}
    bad = REPO / "examples" / "specs" / "bad" / "unknown_key.yaml"
    done = CliRunner().invoke(app, ["submit", str(bad), "--wait", "--timeout", "60", "--json"], env=env)
    out = json.loads(done.output.strip().splitlines()[-1])
    assert done.exit_code == exitcodes.REJECTED and out["outcome"] == "spec.rejected", done.output
    assert out["errors"] and Token.decode(out["position"]).request_id == out["request_id"]


def test_submit_wait_shows_the_modules_progress_until_the_project_completes(
        fleet: demo.Fleet, schema: str) -> None:  # noqa: F811
    fleet.env["ORCH_PROJECTION_SCHEMA"] = schema
    demo.start_actors(fleet)
    fleet.start("projector")
    env = {**demo.settings_env(fleet.settings), **fleet.env, "ORCH_READER_DATABASE_URL": fleet.settings.dsn,
           "COLUMNS": "120"}
    shop = REPO / "examples" / "specs" / "shop.yaml"
    done = CliRunner().invoke(app, ["submit", str(shop), "--wait", "--progress", "--timeout", "240"], env=env)
    assert done.exit_code == exitcodes.OK, done.output
    assert "project.completed" in done.output
    for area in ("backend", "web", "mobile"):  # the live view's bars, one per module
        assert any(line.lstrip().startswith(area) and "verified" in line for line in done.output.splitlines())
    assert fleet.dead() == []
