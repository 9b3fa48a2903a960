"""A manual task nobody acts on: heartbeats keep its lease, the deadline raises the alert."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from orchestrator.adapters import client
from orchestrator.core.envelope import Event
from orchestrator.entrypoints import demo

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
REPO = Path(__file__).resolve().parents[2]
SPEC = """\
apiVersion: orchestrator/v1
kind: Spec
project: Waiting for a person
modules:
  - area: backend
    requirements:
      - {id: FR-1, title: Review the contract}
policy:
  max_attempts: 1
  deadlines: {dev: 6s, qa: 60s, devops: 60s}
  heartbeat_timeout: 2s
executors:
  dev: {kind: manual, wait: 1m}
"""


def test_nobody_acting_on_a_manual_task_misses_the_deadline_not_the_lease(fleet: demo.Fleet,
                                                                          tmp_path: Path) -> None:
    demo.start_actors(fleet)
    spec = tmp_path / "manual.yaml"
    spec.write_text(SPEC)
    since = int(time.time() * 1000) - 1000
    submitted = client.submit(fleet.settings, spec)
    seen: list[Event] = []
    for event in client.follow(fleet.settings, since, 90, lambda e: e.request_id == submitted.request_id):
        seen.append(event)
        if event.type == "monitor.alert":
            break
    alerts = [e.payload for e in seen if e.type == "monitor.alert"]
    assert [a.kind.value for a in alerts] == ["deadline_missed"]  # type: ignore[union-attr]
    beats = [e for e in seen if e.type == "task.heartbeat"]
    assert len(beats) >= 3  # the worker kept the lease while it waited for a person
    assert not any(e.type == "task.completed" for e in seen)
