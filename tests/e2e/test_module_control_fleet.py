"""Pause, resume and cancel one module through the API, on the real fleet (docs/flow.md,
"Controls"): the other module goes on meanwhile."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from test_control import _operated_fleet, gone, long_command_spec, post, started_group

from orchestrator.adapters import client
from orchestrator.core.envelope import Event
from orchestrator.entrypoints import demo
from services.projections import views

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

TWO_MODULES = """\
apiVersion: orchestrator/v1
kind: Spec
project: One module paused
modules:
  - area: backend
    requirements:
      - {id: FR-1, title: One}
      - {id: FR-2, title: Two}
  - area: web
    requirements:
      - {id: FR-3, title: Page}
executors:
  dev: {kind: simulated, duration: 2s}
"""

ONE_CANCELLED = """\
apiVersion: orchestrator/v1
kind: Spec
project: One module cancelled
modules:
  - area: backend
    requirements:
      - {id: FR-1, title: Never ends}
  - area: web
    requirements:
      - {id: FR-2, title: Page}
executors:
  dev:
    backend: {kind: command, run: "{python} %s", timeout: 10m}
    web: {kind: simulated, duration: 1s}
"""


def _area(event: Event) -> str | None:
    return getattr(event.payload, "area", None)


def test_a_paused_module_waits_while_the_other_completes_then_resumes_and_the_project_completes(
        fleet: demo.Fleet, tmp_path: Path) -> None:
    api, token = _operated_fleet(fleet)
    spec = tmp_path / "two.yaml"
    spec.write_text(TWO_MODULES)
    since = int(time.time() * 1000) - 1000
    submitted = client.submit(fleet.settings, spec)
    log: list[Event] = []
    paused = resumed = False
    for event in client.follow(fleet.settings, since, 180, lambda e: e.request_id == submitted.request_id):
        log.append(event)
        pid = event.project_id
        if event.type == "task.started" and _area(event) == "backend" and not paused:
            post(f"{api}/projects/{pid}/modules/backend/pause", time.monotonic() + 30, token)
            paused = True
        web_done = any(e.type == "module.completed" and _area(e) == "web" for e in log)
        if paused and not resumed and web_done and any(e.type == "module.paused" for e in log):
            post(f"{api}/projects/{pid}/modules/backend/resume", time.monotonic() + 30, token)
            resumed = True
        if event.type == "project.completed":
            break
    types = [e.type for e in log]
    assert "project.completed" in types, types
    at_pause, at_resume = types.index("module.paused"), types.index("module.resumed")
    before_pause = {e.event_id for e in log[:at_pause]}
    for claim in log[at_pause:at_resume]:  # a backend claim landing while paused was decided before it
        if claim.type == "task.started" and _area(claim) == "backend":
            assert claim.causation_id in before_pause, claim
    web_completed = next(i for i, e in enumerate(log) if e.type == "module.completed" and _area(e) == "web")
    assert at_pause < web_completed < at_resume  # the other module went on meanwhile
    assert any(e.type == "task.started" and _area(e) == "backend" for e in log[at_resume:])
    assert "monitor.alert" not in types
    found = demo.read_model(fleet.settings, log[-1].project_id, "completed", 30)
    assert found["projection"] == "completed"


def test_a_module_cancelled_mid_task_stops_its_command_while_the_other_completes(
        fleet: demo.Fleet, tmp_path: Path) -> None:
    api, token = _operated_fleet(fleet)
    spec, marker = long_command_spec(tmp_path, ONE_CANCELLED)
    since = int(time.time() * 1000) - 1000
    submitted = client.submit(fleet.settings, spec)
    log: list[Event] = []
    pgid = None
    for event in client.follow(fleet.settings, since, 180, lambda e: e.request_id == submitted.request_id):
        log.append(event)
        if event.type == "task.started" and _area(event) == "backend" and pgid is None:
            pgid = started_group(marker)
            post(f"{api}/projects/{event.project_id}/modules/backend/cancel", time.monotonic() + 30, token)
        ended = {_area(e) for e in log if e.type in ("module.completed", "module.blocked")}
        if ended == {"backend", "web"} and any(e.type == "project.blocked" for e in log):
            break
    assert pgid is not None
    types = [(e.type, _area(e)) for e in log]
    assert ("module.cancelled", "backend") in types and ("task.cancelled", "backend") in types, types
    assert ("module.blocked", "backend") in types and ("module.completed", "web") in types, types
    assert ("project.blocked", None) in types and ("project.completed", None) not in types
    assert gone(pgid), "the command's process group outlived the module's cancel"
    backend_results = [e for e in log
                       if e.type in ("task.completed", "task.failed") and _area(e) == "backend"]
    assert backend_results == []
    pid = log[-1].project_id
    found = demo.read_model(fleet.settings, pid, "blocked", 30)
    assert found["projection"] == "blocked"
    with views.connect(fleet.settings.dsn, views.LIVE_SCHEMA) as conn:
        project = views.get_project(conn, pid)
    assert project is not None
    assert {m["area"]: m["status"] for m in project["module_list"]} == {
        "backend": "cancelled", "web": "completed"}
    refused = urllib.request.Request(f"{api}/projects/{pid}/modules/backend/resume", data=b"{}",
                                     method="POST", headers={"content-type": "application/json",
                                                             "authorization": f"Bearer {token}"})
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(refused, timeout=10)
    assert answer.value.code == 409  # the project ended (blocked); the module shows cancelled
    unknown = urllib.request.Request(f"{api}/projects/{pid}/modules/mobile/pause", data=b"{}",
                                     method="POST", headers={"content-type": "application/json",
                                                             "authorization": f"Bearer {token}"})
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(unknown, timeout=10)
    assert answer.value.code == 404
