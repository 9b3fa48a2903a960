"""End to end: every actor service as its own OS process against the real broker."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from orchestrator.adapters import client
from orchestrator.adapters.config import Settings
from orchestrator.core.envelope import Event
from orchestrator.entrypoints import demo

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
REPO = Path(__file__).resolve().parents[2]
SHOP = REPO / "examples" / "specs" / "shop.yaml"

SLOW_DEV = """\
apiVersion: orchestrator/v1
kind: Spec
project: Lease test
modules:
  - area: backend
    requirements:
      - {id: FR-1, title: Slow work}
policy:
  max_attempts: 3
  deadlines: {dev: 60s, qa: 60s, devops: 60s}
  heartbeat_timeout: 2s
executors:
  dev: {kind: simulated, duration: 4s}
  qa: {kind: simulated, duration: 0s}
  devops: {kind: simulated, duration: 0s}
"""


def _until(settings: Settings, request_id: str, since: int, done, timeout: float) -> list[Event]:  # type: ignore[no-untyped-def]
    seen: dict[str, Event] = {}
    for event in client.follow(settings, since, timeout, lambda e: e.request_id == request_id):
        seen.setdefault(event.event_id, event)
        if done(list(seen.values())):
            break
    return list(seen.values())


def test_the_example_spec_reaches_project_completed_with_one_rework_loop(fleet: demo.Fleet) -> None:
    demo.start_actors(fleet)
    outcome, events = demo.run(fleet.settings, SHOP, timeout=240, echo=False)
    assert fleet.dead() == []
    assert outcome == "project.completed"
    counts = Counter(e.type for e in events)
    ids = [e.event_id for e in events]
    assert len(ids) == len(set(ids))
    assert counts["project.created"] == 1
    assert counts["charter.created"] == 1
    assert counts["module.planned"] == 3
    assert counts["backlog.created"] == 3
    assert counts["module.completed"] == 3
    assert counts["project.completed"] == 1
    requirements = counts["task.verified"] - 3  # one devops verification per module
    assert requirements == 7
    assert counts["task.assigned"] == 2 * requirements + 3
    assert counts["qa.failed"] == 1 and counts["task.rework_requested"] == 1
    assert counts["qa.passed"] == requirements
    assert counts["task.completed"] == requirements + 1
    assert counts["qa.requested"] == requirements + 1
    assert counts["devops.requested"] == counts["devops.deployed"] == counts["smoke.passed"]
    assert counts["monitor.alert"] == 0 and counts["pm.escalated"] == 0
    runs = counts["task.completed"] + counts["qa.passed"] + counts["qa.failed"] + counts["devops.deployed"]
    assert counts["task.usage"] == runs  # every run reports what it consumed, once
    staffed = [(e.type, getattr(e.payload, "name", "")) for e in events if e.type.startswith("role.")]
    assert sorted(n for t, n in staffed if t == "role.hired") == \
        sorted(n for t, n in staffed if t == "role.released")  # each hire released once, at its end
    assert len(staffed) == 2 * 3 * 5  # three areas, five roles each
    every = {e.event_id for e in events}
    for e in events:
        assert e.request_id == events[0].request_id
        assert e.type == "spec.rejected" or e.causation_id is None or e.causation_id in every or \
            e.type == "project.created"


def test_a_dev_worker_killed_mid_task_is_caught_by_its_lease_and_retried(
    fleet: demo.Fleet, tmp_path: Path
) -> None:
    spec = tmp_path / "slow.yaml"
    spec.write_text(SLOW_DEV)
    demo.start_actors(fleet)
    settings = fleet.settings
    since = int(time.time() * 1000) - 1000
    submitted = client.submit(settings, spec)
    rid = submitted.request_id

    def claimed(es: list[Event]) -> bool:
        return any(e.type == "task.started" and e.payload.role == "dev" for e in es)  # type: ignore[union-attr]

    _until(settings, rid, since, claimed, 120)
    fleet.kill("dev")

    def retried(es: list[Event]) -> bool:
        return any(e.type == "task.assigned" and e.payload.attempt == 2 for e in es)  # type: ignore[union-attr]

    events = _until(settings, rid, since, retried, 60)
    alerts = [e for e in events if e.type == "monitor.alert"]
    assert [a.payload.kind for a in alerts] == ["silent_worker"]  # type: ignore[union-attr]
    fleet.start("dev", label="dev-2")

    def finished(es: list[Event]) -> bool:
        return any(e.type in client.TERMINAL for e in es)

    events = _until(settings, rid, since, finished, 120)
    types = Counter(e.type for e in events)
    assert types["project.completed"] == 1
    starts = [e for e in events if e.type == "task.started" and e.payload.role == "dev"]  # type: ignore[union-attr]
    assert {e.payload.attempt for e in starts} >= {1, 2}  # type: ignore[union-attr]
    assert len({e.actor.instance for e in starts}) == 2
    assert types["task.completed"] >= 1
