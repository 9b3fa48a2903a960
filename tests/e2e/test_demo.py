"""`orchestrator demo`, the main job, non-interactively: its summary is the contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from orchestrator.adapters.config import Settings
from orchestrator.adapters.stack.proc import free_port, port_free

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
REPO = Path(__file__).resolve().parents[2]


def test_the_demo_runs_the_shop_spec_to_completion_and_summarizes_it(settings: Settings) -> None:
    run_dir = REPO / ".run" / "e2e" / f"demo-{settings.topic_prefix}"
    env = {**os.environ, "ORCH_KAFKA_BOOTSTRAP": settings.bootstrap, "ORCH_DATABASE_URL": settings.dsn,
           "ORCH_TOPIC_PREFIX": settings.topic_prefix, "ORCH_RUN_DIR": str(run_dir),
           "ORCH_API_PORT": str(free_port()), "ORCH_PROJECTION_SCHEMA": f"demo_{uuid.uuid4().hex[:8]}",
           "CI": "true"}
    done = subprocess.run([sys.executable, "-m", "orchestrator", "demo", "--json", "--timeout", "240"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=400,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout[done.stdout.index("{"):])
    assert summary["outcome"] == "project.completed"
    assert summary["projection"] == "completed"
    assert summary["dead_services"] == []
    assert summary["events"]["module.completed"] == 3
    assert summary["events"]["qa.failed"] == 1 and summary["events"]["task.rework_requested"] == 1
    assert summary["tasks"] == 17 and sum(summary["tasks_by_status"].values()) == 17
    assert summary["artifacts"] > 0
    assert summary["api"].startswith("http://127.0.0.1:")
    assert port_free(int(env["ORCH_API_PORT"]))  # without --keep everything it started is stopped
