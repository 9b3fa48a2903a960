"""Pause, resume and cancel through the API, on the real fleet (docs/flow.md, "Controls")."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from orchestrator.adapters import client, tokens
from orchestrator.core.envelope import Event
from orchestrator.entrypoints import demo

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

PAUSED_SPEC = """\
apiVersion: orchestrator/v1
kind: Spec
project: Paused on the way
modules:
  - area: backend
    requirements:
      - {id: FR-1, title: One}
      - {id: FR-2, title: Two}
executors:
  dev: {kind: simulated, duration: 2s}
"""

CANCEL_SPEC = """\
apiVersion: orchestrator/v1
kind: Spec
project: Cancelled mid-task
modules:
  - area: backend
    requirements:
      - {id: FR-1, title: Never ends}
executors:
  dev: {kind: command, run: "{python} %s", timeout: 10m}
"""

# a command that starts a child in its process group, says which group, and waits forever
LONG = """\
import os, pathlib, subprocess, sys
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
pathlib.Path(%r).write_text(str(os.getpgrp()))
import time; time.sleep(600)
"""


def post(url: str, deadline: float, token: str) -> dict[str, object]:
    """POST until the projection knows the project (404 while the projector catches up)."""
    while True:
        req = urllib.request.Request(url, data=b'{"reason": "e2e"}', method="POST",
                                     headers={"content-type": "application/json",
                                              "authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(req, timeout=10) as answer:
                return json.loads(answer.read())  # type: ignore[no-any-return]
        except (urllib.error.HTTPError, urllib.error.URLError) as exc:
            if time.monotonic() > deadline or (isinstance(exc, urllib.error.HTTPError) and exc.code != 404):
                raise
            time.sleep(0.2)


def _operated_fleet(fleet: demo.Fleet) -> tuple[str, str]:
    """Every actor and the read side running; the API's URL and a token that may operate."""
    demo.start_actors(fleet)
    api = demo.start_read_side(fleet)
    return api, tokens.create(fleet.settings.dsn, ["default"], ["read", "operate"], "e2e")


def test_a_paused_project_claims_nothing_new_until_resumed_then_completes(
        fleet: demo.Fleet, tmp_path: Path) -> None:
    api, token = _operated_fleet(fleet)
    spec = tmp_path / "paused.yaml"
    spec.write_text(PAUSED_SPEC)
    since = int(time.time() * 1000) - 1000
    submitted = client.submit(fleet.settings, spec)
    log: list[Event] = []
    paused = resumed = False
    for event in client.follow(fleet.settings, since, 150, lambda e: e.request_id == submitted.request_id):
        log.append(event)
        if event.type == "task.started" and not paused:
            post(f"{api}/projects/{event.project_id}/pause", time.monotonic() + 30, token)
            paused = True
        waited = [e for e in log if e.type == "qa.requested"]
        if paused and not resumed and any(e.type == "project.paused" for e in log) and len(waited) == 2:
            post(f"{api}/projects/{event.project_id}/resume", time.monotonic() + 30, token)
            resumed = True
        if event.type == "project.completed":
            break
    types = [e.type for e in log]
    assert "project.completed" in types, types
    at_pause, at_resume = types.index("project.paused"), types.index("project.resumed")
    before_pause = {e.event_id for e in log[:at_pause]}
    for claim in log[at_pause:at_resume]:  # a claim landing while paused was decided before it
        if claim.type == "task.started":
            assert claim.causation_id in before_pause, claim
    assert any(e.type == "task.started" and e.payload.role.value == "qa"  # type: ignore[union-attr]
               for e in log[at_resume:])
    assert "monitor.alert" not in types
    found = demo.read_model(fleet.settings, log[-1].project_id, "completed", 30)
    assert found["projection"] == "completed"


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def long_command_spec(tmp_path: Path, template: str) -> tuple[Path, Path]:
    """(spec, marker): a spec from `template` whose command writes its process group id to
    the marker file and then runs far longer than any test."""
    marker, script, spec = tmp_path / "pgid", tmp_path / "long.py", tmp_path / "cancel.yaml"
    script.write_text(LONG % str(marker))
    spec.write_text(template % script)
    return spec, marker


def started_group(marker: Path) -> int:
    """The running command's process group, once it has written it (alive, checked)."""
    deadline = time.monotonic() + 30
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    pgid = int(marker.read_text())
    assert _group_alive(pgid)
    return pgid


def gone(pgid: int) -> bool:
    """Whether the process group ends within 20 s."""
    deadline = time.monotonic() + 20
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not _group_alive(pgid)


def test_cancel_mid_task_kills_the_commands_process_group_and_ends_the_project(
        fleet: demo.Fleet, tmp_path: Path) -> None:
    api, token = _operated_fleet(fleet)
    spec, marker = long_command_spec(tmp_path, CANCEL_SPEC)
    since = int(time.time() * 1000) - 1000
    submitted = client.submit(fleet.settings, spec)
    log: list[Event] = []
    pgid = None
    for event in client.follow(fleet.settings, since, 120, lambda e: e.request_id == submitted.request_id):
        log.append(event)
        if event.type == "task.started" and pgid is None:
            pgid = started_group(marker)
            post(f"{api}/projects/{event.project_id}/cancel", time.monotonic() + 30, token)
        if event.type == "task.cancelled":
            break
    assert pgid is not None
    types = [e.type for e in log]
    assert "project.cancelled" in types and "task.cancelled" in types, types
    assert gone(pgid), "the command's process group outlived the cancel"
    assert "task.completed" not in types and "task.failed" not in types
    found = demo.read_model(fleet.settings, log[-1].project_id, "cancelled", 30)
    assert found["projection"] == "cancelled"
    refused = urllib.request.Request(f"{api}/projects/{log[-1].project_id}/resume", data=b"{}",
                                     method="POST", headers={"content-type": "application/json",
                                                             "authorization": f"Bearer {token}"})
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(refused, timeout=10)
    assert answer.value.code == 409
