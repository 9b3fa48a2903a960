"""The pure projection fold: which row operations each event makes."""

from __future__ import annotations

from orchestrator.envelope import Actor, Event
from orchestrator.events import (
    AlertKind,
    MonitorAlert,
    ProjectCompleted,
    QaFailed,
    Role,
    Severity,
    SpecError,
    SpecRejected,
    TaskHeartbeat,
    TaskStarted,
    TaskVerified,
)
from services.projections import views
from services.projections.projection import Position, event_row, project


def ev(payload: object, role: Role = Role.MONITOR, instance: str = "m0", pid: str = "p") -> Event:
    return Event("e1", pid, "r1", None, 1_700_000_000_000, Actor(role, "backend", instance), payload)  # type: ignore[arg-type]


def test_a_started_task_records_its_assignee() -> None:
    [op] = project(ev(TaskStarted("t", "backend", Role.DEV, 2, 1, 100), Role.DEV, "w7"))
    assert op.statement == "task_status"
    assert op.params | {"at": None} == {"task_id": "t", "status": "started", "attempt": 2, "round": 1,
                                        "assignee": "w7", "at": None}


def test_a_failed_qa_marks_the_dev_task() -> None:
    ops = project(ev(QaFailed("qa", "backend", "dev", 1, 0, ("x",))))
    assert [(o.params["task_id"], o.params["status"]) for o in ops] == [("qa", "completed"),
                                                                         ("dev", "qa_failed")]


def test_verification_recounts_the_module() -> None:
    ops = project(ev(TaskVerified("t", "backend", Role.DEV, ("FR-1",))))
    assert [o.statement for o in ops] == ["task_verified", "module_counts"]


def test_a_rejection_without_a_project_only_records_errors() -> None:
    ops = project(ev(SpecRejected((SpecError("a", "b"),)), pid=""))
    assert [o.statement for o in ops] == ["rejection"]
    assert ops[0].params["errors"] == [{"path": "a", "message": "b"}]


def test_alerts_and_completion() -> None:
    alert = project(ev(MonitorAlert("t", "backend", AlertKind.DEADLINE_MISSED, Severity.CRITICAL, 1, 0, "m")))
    assert alert[0].params["kind"] == "deadline_missed" and alert[0].params["severity"] == "critical"
    assert project(ev(ProjectCompleted(("backend",))))[0].params["status"] == "completed"


def test_heartbeats_change_no_read_model_but_are_logged() -> None:
    event = ev(TaskHeartbeat("t", "backend", Role.DEV, 1, 0, 3), Role.DEV)
    assert project(event) == []
    row = event_row(event, Position("topic", 2, 9))
    assert row["type"] == "task.heartbeat" and row["payload"]["seq"] == 3 and row["offset"] == 9


def test_every_operation_names_a_statement() -> None:
    for payload in (TaskVerified("t", "a", Role.DEV, ()), QaFailed("q", "a", "d", 1, 0, ())):
        assert all(op.statement in views.SQL for op in project(ev(payload)))
