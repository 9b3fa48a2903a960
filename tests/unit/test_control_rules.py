"""An operator's controls: which project statuses allow them, and what the read model shows."""

from __future__ import annotations

import re

import pytest

from orchestrator.core import control
from orchestrator.core.envelope import Actor, Event
from orchestrator.core.events import (
    ApprovalGranted,
    ApprovalRequested,
    Executor,
    ProjectCancelled,
    ProjectPaused,
    ProjectResumed,
    Role,
    TaskReassigned,
)
from services.projections.projection import fold
from services.projections.rowset import Rows


def test_pause_resume_and_cancel_make_their_events_keyed_by_the_project() -> None:
    pause = control.event("pause", "shop-1", "req-1", "created", "lunch", now_ms=5)
    assert (pause.type, pause.payload, pause.project_id, pause.request_id) == (
        "project.paused", ProjectPaused("lunch"), "shop-1", "req-1")
    assert control.event("resume", "shop-1", "req-1", "paused", now_ms=1).payload == ProjectResumed("")
    cancel = control.event("cancel", "shop-1", "req-1", "paused", now_ms=1)
    assert isinstance(cancel.payload, ProjectCancelled)
    assert cancel.tenant is None  # no tenant given: the default tenant's, as before
    assert control.event("cancel", "shop-1", "req-1", "paused", now_ms=1, tenant="team-a").tenant == "team-a"


@pytest.mark.parametrize(("action", "status"), [
    ("pause", "paused"), ("resume", "created"), ("cancel", "completed"), ("cancel", "cancelled"),
    ("pause", "blocked"), ("stop", "created"),
])
def test_a_control_that_does_not_apply_is_refused_with_the_reason(action: str, status: str) -> None:
    with pytest.raises(control.Refused, match=action):
        control.event(action, "shop-1", "req-1", status, now_ms=1)


def test_the_read_model_shows_paused_resumed_and_cancelled_but_never_reopens_an_end() -> None:
    rows = Rows()
    rows.projects["shop-1"] = {"project_id": "shop-1", "status": "created"}
    for action, shown in (("pause", "paused"), ("resume", "resumed"), ("cancel", "cancelled")):
        fold(rows, control.event(action, "shop-1", "req-1", rows.projects["shop-1"]["status"], now_ms=1))
        assert rows.projects["shop-1"]["status"] == shown
    fold(rows, control.event("pause", "shop-1", "req-1", "created", now_ms=1))
    assert rows.projects["shop-1"]["status"] == "cancelled"


APPROVAL = {"approval_id": "ap-1", "project_id": "shop-1", "request_id": "req-1",
            "task_id": "shop-1/web/devops", "area": "web", "role": "devops", "gate": "deployment_total",
            "status": "pending",
            "project_status": "created"}


def test_an_answer_to_a_pending_approval_names_its_task_and_gate() -> None:
    granted = control.answer("grant", APPROVAL, "looks fine", now_ms=7)
    assert (granted.type, granted.payload, granted.project_id, granted.actor.role) == (
        "approval.granted", ApprovalGranted("ap-1", "shop-1/web/devops", "web", Role.DEVOPS,
                                            "deployment_total", "looks fine"), "shop-1", Role.CLIENT)
    assert control.answer("reject", APPROVAL, now_ms=1).type == "approval.rejected"


@pytest.mark.parametrize("change", [{"status": "granted"}, {"status": "rejected"},
                                    {"project_status": "cancelled"}, {"project_status": "blocked"}])
def test_an_answer_to_an_approval_no_longer_pending_or_of_an_ended_project_is_refused(
        change: dict[str, str]) -> None:
    with pytest.raises(control.Refused, match="approval ap-1"):
        control.answer("grant", {**APPROVAL, **change}, now_ms=1)


TASK = {"task_id": "shop-1/web/dev/FR-1", "project_id": "shop-1", "area": "web", "role": "dev",
        "status": "started", "request_id": "req-1", "project_status": "resumed"}


def test_a_hand_off_names_the_new_executor_of_the_tasks_role() -> None:
    moved = control.reassign(TASK, "manual", {"wait": "1h"}, "a person takes over", now_ms=1)
    assert moved.payload == TaskReassigned("shop-1/web/dev/FR-1", "web", Role.DEV,
                                           Executor(Role.DEV, "manual", None, {"wait": "1h"}),
                                           "a person takes over")


@pytest.mark.parametrize(("kind", "change"), [("robot", {}), ("manual", {"status": "verified"}),
                                              ("manual", {"project_status": "completed"})])
def test_a_hand_off_to_an_unknown_executor_or_of_an_ended_task_is_refused(
        kind: str, change: dict[str, str]) -> None:
    with pytest.raises(control.Refused):
        control.reassign({**TASK, **change}, kind, now_ms=1)


@pytest.mark.parametrize("change", [{}, {"status": "granted"}, {"project_status": "completed"},
                                    {"project_status": "paused"}])
def test_the_dashboards_answer_buttons_are_exactly_what_answer_takes(change: dict[str, str]) -> None:
    approval = {**APPROVAL, **change}
    for action in [*control.ANSWERS, "maybe"]:
        why = control.answer_refusal(action, approval)
        if why is None:
            assert control.answer(action, approval, now_ms=1).payload.approval_id == "ap-1"  # type: ignore[union-attr]
        else:
            with pytest.raises(control.Refused, match=re.escape(why)):
                control.answer(action, approval, now_ms=1)


@pytest.mark.parametrize("change", [{}, {"status": "cancelled"}, {"project_status": "blocked"},
                                    {"status": "qa_failed", "project_status": "paused"}])
def test_the_task_pages_hand_off_kinds_are_exactly_what_reassign_takes(change: dict[str, str]) -> None:
    task = {**TASK, **change}
    for kind in [*control.EXECUTOR_KINDS, "robot"]:
        why = control.handoff_refusal(task, kind)
        if why is None:
            assert control.reassign(task, kind, now_ms=1).type == "task.reassigned"
        else:
            with pytest.raises(control.Refused, match=re.escape(why)):
                control.reassign(task, kind, now_ms=1)
    assert (control.handoff_refusal(task, "manual") is None) == (not change or "paused" in change.values())


def test_the_read_model_lists_an_approval_pending_then_answered_once() -> None:
    rows = Rows()
    asked = ApprovalRequested("ap-1", "shop-1/web/devops", "web", Role.DEVOPS, "deployment_total",
                              1, 2, 60_000)
    fold(rows, Event("e1", "shop-1", "req-1", None, 1000, Actor(Role.DEVOPS, "web", "d1"), asked))
    assert rows.approvals["ap-1"]["status"] == "pending"
    fold(rows, control.answer("reject", APPROVAL, "no", who="ops", now_ms=2000))
    fold(rows, control.answer("grant", APPROVAL, now_ms=3000))  # a second answer changes nothing
    row = rows.approvals["ap-1"]
    assert (row["status"], row["reason"], row["decided_by"], row["round"]) == ("rejected", "no", "ops", 2)


def test_an_answer_and_a_hand_off_carry_the_project_tenant_so_its_reads_see_them() -> None:
    assert control.answer("grant", {**APPROVAL, "tenant": "team-a"}, now_ms=1).tenant == "team-a"
    assert control.reassign({**TASK, "tenant": "team-a"}, "manual", now_ms=1).tenant == "team-a"
    assert control.answer("grant", APPROVAL, now_ms=1).tenant is None  # a row without one: the default


@pytest.mark.parametrize("status", ["created", "paused", "resumed", "completed", "blocked", "cancelled"])
def test_the_project_buttons_are_exactly_the_actions_event_accepts(status: str) -> None:
    accepted = []
    for action in control.ACTIONS:
        try:
            control.event(action, "shop-1", "req-1", status, now_ms=1)
            accepted.append(action)
        except control.Refused:
            pass
    assert control.project_actions("shop-1", status) == accepted
