"""Approvals granted and rejected, and a hand-off to a person, through the API on the real
fleet (docs/flow.md, "Controls")."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.adapters import client, tokens
from orchestrator.core.envelope import Event
from orchestrator.entrypoints import demo

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

GATED_SPEC = """\
apiVersion: orchestrator/v1
kind: Spec
project: Deploy when told
modules:
  - area: backend
    requirements:
      - {id: FR-1, title: One}
policy:
  approvals:
    - {before: deployment_total, deadline: 1h}
"""

HANDOFF_SPEC = """\
apiVersion: orchestrator/v1
kind: Spec
project: Handed to a person
modules:
  - area: backend
    requirements:
      - {id: FR-1, title: Too slow for the machine}
executors:
  dev: {kind: simulated, duration: 10m}
"""


def call(url: str, token: str, body: dict[str, Any] | None = None, retry: frozenset[int] = frozenset({404}),
         deadline_s: float = 60) -> dict[str, Any]:
    """GET (no body) or POST, again while the answer is in `retry` (the projector catching up)
    or the API does not answer yet (its process still starting on a loaded machine)."""
    deadline = time.monotonic() + deadline_s
    while True:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method="GET" if body is None else "POST",
                                     headers={"content-type": "application/json",
                                              "authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(req, timeout=10) as answer:
                return json.loads(answer.read())  # type: ignore[no-any-return]
        except urllib.error.HTTPError as exc:
            if time.monotonic() > deadline or exc.code not in retry:
                raise
        except urllib.error.URLError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def _operated_fleet(fleet: demo.Fleet) -> tuple[str, str]:
    demo.start_actors(fleet)
    api = demo.start_read_side(fleet)
    return api, tokens.create(fleet.settings.dsn, ["default"], ["read", "operate"], "e2e")


def _events(fleet: demo.Fleet, spec: Path, text: str, timeout_s: float = 150) -> Iterator[Event]:
    spec.write_text(text)
    since = int(time.time() * 1000) - 1000
    submitted = client.submit(fleet.settings, spec)
    yield from client.follow(fleet.settings, since, timeout_s, lambda e: e.request_id == submitted.request_id)


def _pending(api: str, token: str, project_id: str) -> dict[str, Any]:
    """The project's one pending approval, once the read model lists it."""
    deadline = time.monotonic() + 30
    while True:
        items = call(f"{api}/approvals?status=pending&project_id={project_id}", token)["items"]
        if items or time.monotonic() > deadline:
            (found,) = items
            return found  # type: ignore[no-any-return]
        time.sleep(0.2)


def _answered(fleet: demo.Fleet, tmp_path: Path, action: str, ending: str) -> list[Event]:
    """Follow a gated project; answer its approval with `action` through the API."""
    api, token = _operated_fleet(fleet)
    log: list[Event] = []
    for event in _events(fleet, tmp_path / "gated.yaml", GATED_SPEC):
        log.append(event)
        if event.type == "approval.requested":
            pending = _pending(api, token, event.project_id)
            assert (pending["gate"], pending["role"]) == ("deployment_total", "devops")
            answer = call(f"{api}/approvals/{pending['approval_id']}/{action}", token, {"reason": "e2e"})
            assert answer["type"] == {"grant": "approval.granted", "reject": "approval.rejected"}[action]
        if event.type == ending:
            break
    return log


def test_a_granted_approval_lets_the_total_deployment_go_ahead(fleet: demo.Fleet, tmp_path: Path) -> None:
    log = _answered(fleet, tmp_path, "grant", "project.completed")
    types = [e.type for e in log]
    assert "project.completed" in types, types
    asked, granted = types.index("approval.requested"), types.index("approval.granted")
    devops_claims = [i for i, e in enumerate(log) if e.type == "task.started"
                     and e.payload.role.value == "devops"]  # type: ignore[union-attr]
    assert devops_claims and all(i > granted > asked for i in devops_claims), types
    found = demo.read_model(fleet.settings, log[-1].project_id, "completed", 30)
    assert found["projection"] == "completed"


def test_a_rejected_approval_blocks_the_module_and_nothing_is_deployed(
        fleet: demo.Fleet, tmp_path: Path) -> None:
    log = _answered(fleet, tmp_path, "reject", "project.blocked")
    types = [e.type for e in log]
    assert "approval.rejected" in types and "project.blocked" in types, types
    assert "devops.deployed" not in types and "project.completed" not in types
    blocked = next(e for e in log if e.type == "module.blocked")
    assert "approval rejected" in blocked.payload.reason  # type: ignore[union-attr]
    found = demo.read_model(fleet.settings, log[-1].project_id, "blocked", 30)
    assert found["projection"] == "blocked"


def hand_to_a_person(fleet: demo.Fleet, spec: Path, text: str, reason: str,
                     before: Callable[[], None] = lambda: None) -> list[Event]:
    """Run `text`; when its dev task first starts (and `before` has returned), hand it to
    `manual` through the API, then settle the new claim with a person's verdict; the log up
    to `project.completed`."""
    api, token = _operated_fleet(fleet)
    log: list[Event] = []
    handed = settled = False
    for event in _events(fleet, spec, text):
        log.append(event)
        p = event.payload
        dev = getattr(p, "role", None) is not None and p.role.value == "dev"  # type: ignore[union-attr]
        if event.type == "task.started" and dev and not handed:
            before()
            answer = call(f"{api}/tasks/{p.task_id}/reassign", token,  # type: ignore[union-attr]
                          {"executor": {"kind": "manual"}, "reason": reason})
            assert answer["type"] == "task.reassigned"
            handed = True
        elif event.type == "task.started" and dev and not settled:
            # the new claim: the person's verdict settles it once the read model shows it
            verdict = call(f"{api}/tasks/{p.task_id}/complete", token, {"note": "done by hand"},  # type: ignore[union-attr]
                           retry=frozenset({404, 409}))
            assert (verdict["attempt"], verdict["round"]) == (1, 1)
            settled = True
        if event.type == "project.completed":
            break
    return log


def test_a_task_handed_to_a_person_mid_flight_is_completed_through_the_manual_route(
        fleet: demo.Fleet, tmp_path: Path) -> None:
    log = hand_to_a_person(fleet, tmp_path / "handoff.yaml", HANDOFF_SPEC, "e2e")
    types = [e.type for e in log]
    assert "task.reassigned" in types and "project.completed" in types, types
    done = [e.payload for e in log if e.type == "task.completed"]
    assert [(d.round, d.summary) for d in done] == [(1, "done by hand")]  # type: ignore[union-attr]
    dev_claims = [e.payload for e in log if e.type == "task.started" and e.payload.role.value == "dev"]  # type: ignore[union-attr]
    assert [(c.attempt, c.round) for c in dev_claims] == [(1, 0), (1, 1)]  # type: ignore[union-attr]
