"""An operator's controls: which project statuses allow them, and what the read model shows."""

from __future__ import annotations

import pytest

from orchestrator import control
from orchestrator.events import ProjectCancelled, ProjectPaused, ProjectResumed
from services.projections.projection import Rows, fold


def test_pause_resume_and_cancel_make_their_events_keyed_by_the_project() -> None:
    pause = control.event("pause", "shop-1", "req-1", "created", "lunch", now_ms=5)
    assert (pause.type, pause.payload, pause.project_id, pause.request_id) == (
        "project.paused", ProjectPaused("lunch"), "shop-1", "req-1")
    assert control.event("resume", "shop-1", "req-1", "paused").payload == ProjectResumed("")
    assert isinstance(control.event("cancel", "shop-1", "req-1", "paused").payload, ProjectCancelled)


@pytest.mark.parametrize(("action", "status"), [
    ("pause", "paused"), ("resume", "created"), ("cancel", "completed"), ("cancel", "cancelled"),
    ("pause", "blocked"), ("stop", "created"),
])
def test_a_control_that_does_not_apply_is_refused_with_the_reason(action: str, status: str) -> None:
    with pytest.raises(control.Refused, match=action):
        control.event(action, "shop-1", "req-1", status)


def test_the_read_model_shows_paused_resumed_and_cancelled_but_never_reopens_an_end() -> None:
    rows = Rows()
    rows.projects["shop-1"] = {"project_id": "shop-1", "status": "created"}
    for action, shown in (("pause", "paused"), ("resume", "resumed"), ("cancel", "cancelled")):
        fold(rows, control.event(action, "shop-1", "req-1", rows.projects["shop-1"]["status"]))
        assert rows.projects["shop-1"]["status"] == shown
    fold(rows, control.event("pause", "shop-1", "req-1", "created"))
    assert rows.projects["shop-1"]["status"] == "cancelled"
