"""Hazards of any consumer group: a SIGKILL with claims in flight, a rebalance mid-run.

These began as regressions for Faust (faust-streaming #606, #502, #323, which committed
past in-flight records and redelivered after rebalances). The transactional loop must
pass them too: a claim killed mid-run is resumed from the changelog by whoever owns the
partition next, and no effect is ever applied under two ids.
"""

from __future__ import annotations

import signal
import time
from collections import defaultdict
from pathlib import Path

import pytest

from orchestrator.adapters import client
from orchestrator.adapters.config import Settings
from orchestrator.core.envelope import Event
from orchestrator.entrypoints import demo

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
REPO = Path(__file__).resolve().parents[2]
PROJECTS = 6

SPEC = """\
apiVersion: orchestrator/v1
kind: Spec
project: Hazard {n}
modules:
  - area: backend
    requirements:
      - {{id: FR-1, title: One}}
      - {{id: FR-2, title: Two}}
      - {{id: FR-3, title: Three}}
policy:
  deadlines: {{dev: 60s, qa: 60s, devops: 60s}}
  heartbeat_timeout: 3s
executors:
  dev: {{kind: simulated, duration: 2s}}
  qa: {{kind: simulated, duration: 0s}}
  devops: {{kind: simulated, duration: 0s}}
"""


@pytest.fixture
def hazard_fleet(fleet: demo.Fleet) -> demo.Fleet:
    fleet.env["ORCH_WORKER_CONCURRENCY"] = "2"  # work outlasts a second instance's start, even on a busy CI
    demo.start_actors(fleet)
    return fleet


def submit_all(settings: Settings, tmp_path: Path) -> tuple[int, set[str]]:
    since = int(time.time() * 1000) - 1000
    requests = set()
    for n in range(PROJECTS):
        path = tmp_path / f"hazard-{n}.yaml"
        path.write_text(SPEC.format(n=n))
        requests.add(client.submit(settings, path).request_id)
    return since, requests


def collect(settings: Settings, since: int, requests: set[str], timeout: float) -> list[Event]:
    by_id: dict[str, Event] = {}
    done: set[str] = set()
    for event in client.follow(settings, since, timeout, lambda e: e.request_id in requests):
        by_id.setdefault(event.event_id, event)
        if event.type in client.TERMINAL:
            done.add(event.request_id)
            if done == requests:
                break
    return list(by_id.values())


def assert_each_effect_once(events: list[Event]) -> None:
    """Distinct event ids per logical effect: one claim per (task, attempt, round), etc."""
    effects: dict[tuple[object, ...], set[str]] = defaultdict(set)
    for e in events:
        p = e.payload
        if e.type in ("task.started", "task.completed", "qa.passed", "qa.failed", "devops.deployed"):
            effects[(e.type, p.task_id, p.attempt, p.round)].add(e.event_id)  # type: ignore[union-attr]
        elif e.type in ("task.verified", "task.assigned"):
            key = (e.type, p.task_id, getattr(p, "attempt", 0))  # type: ignore[union-attr]
            effects[key].add(e.event_id)
        elif e.type in ("module.completed", "project.completed", "project.created"):
            effects[(e.type, e.project_id, getattr(p, "area", ""))].add(e.event_id)
    doubled = {k: v for k, v in effects.items() if len(v) > 1}
    assert doubled == {}


def test_a_worker_killed_with_records_in_flight_loses_none(hazard_fleet: demo.Fleet, tmp_path: Path) -> None:
    fleet = hazard_fleet
    settings = fleet.settings
    since, requests = submit_all(settings, tmp_path)
    for _ in client.follow(settings, since, 60, lambda e: e.type == "task.started"):
        break
    fleet.kill("dev")  # SIGKILL with claims running and assignments queued
    fleet.start("dev", label="dev-2")
    events = collect(settings, since, requests, 240)
    completed = {e.project_id for e in events if e.type == "project.completed"}
    assert len(completed) == PROJECTS
    assert_each_effect_once(events)


def test_a_second_instance_joining_then_leaving_applies_no_effect_twice(
    hazard_fleet: demo.Fleet, tmp_path: Path
) -> None:
    fleet = hazard_fleet
    settings = fleet.settings
    since, requests = submit_all(settings, tmp_path)
    for _ in client.follow(settings, since, 60, lambda e: e.type == "task.started"):
        break
    fleet.start("dev", label="dev-2")  # joins: the group rebalances mid-run
    worked = []
    for event in client.follow(settings, since, 90, lambda e: e.actor.instance == "dev-2"):
        worked.append(event)
        break
    fleet.kill("dev-2", signal.SIGTERM)  # leaves cleanly: another rebalance
    assert worked, "the second instance never got work: no rebalance was exercised"
    events = collect(settings, since, requests, 240)
    completed = {e.project_id for e in events if e.type == "project.completed"}
    assert len(completed) == PROJECTS
    assert_each_effect_once(events)
