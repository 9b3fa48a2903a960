"""Task and approval rows: what each task event does to its task's row, and to an approval's."""

from __future__ import annotations

from datetime import datetime

from orchestrator.core.envelope import Event
from orchestrator.core.events import (
    ApprovalGranted,
    ApprovalRejected,
    ApprovalRequested,
    DevopsDeployed,
    DevopsFailed,
    DevopsRequested,
    QaFailed,
    QaPassed,
    QaRequested,
    SmokeFailed,
    TaskAssigned,
    TaskCancelled,
    TaskCompleted,
    TaskFailed,
    TaskReworkRequested,
    TaskStarted,
)
from services.projections.rowset import Rows, tenant_of


def approval(rows: Rows, event: Event, p: ApprovalRequested | ApprovalGranted | ApprovalRejected,
              at: datetime) -> None:
    """A gate asked (pending, and its task `awaiting_approval`), then granted or rejected once."""
    found = rows.approvals.get(p.approval_id)
    match p:
        case ApprovalRequested() if found is None:
            rows.approvals[p.approval_id] = {
                "approval_id": p.approval_id, "project_id": event.project_id,
                "request_id": event.request_id, "task_id": p.task_id, "area": p.area,
                "role": p.role.value, "gate": p.gate, "status": "pending", "attempt": p.attempt,
                "round": p.round, "deadline_ms": p.deadline_ms, "reason": "", "decided_by": None,
                "requested_at": at, "decided_at": None, "tenant": tenant_of(event)}
            set_task(rows, p.task_id, "awaiting_approval", at)
        case ApprovalGranted() | ApprovalRejected() if found is not None and found["status"] == "pending":
            status = "granted" if isinstance(p, ApprovalGranted) else "rejected"
            found.update(status=status, reason=p.reason, decided_by=event.actor.instance, decided_at=at)
            if status == "granted":
                set_task(rows, p.task_id, "assigned", at)
        case _:
            return
    rows.changed["approvals"].add(p.approval_id)


def task_status(rows: Rows, event: Event, at: datetime) -> None:
    """The events that only move a task's status (and its attempt, round or assignee)."""
    match event.payload:
        case TaskStarted() as p:
            set_task(rows, p.task_id, "started", at, p.attempt, p.round, event.actor.instance)
        case TaskCompleted() | QaPassed() as p:
            set_task(rows, p.task_id, "completed", at, round=p.round)
        case TaskFailed() | DevopsFailed() | SmokeFailed() as p:
            set_task(rows, p.task_id, "failed", at, round=p.round)
        case QaRequested() | DevopsRequested() as p:
            set_task(rows, p.task_id, "assigned", at, p.attempt, p.round)
        case QaFailed() as p:
            set_task(rows, p.task_id, "completed", at, round=p.round)
            set_task(rows, p.dev_task_id, "qa_failed", at)
        case TaskReworkRequested() as p:
            set_task(rows, p.task_id, "assigned", at, round=p.round)
        case DevopsDeployed() as p:
            set_task(rows, p.task_id, "deployed", at, round=p.round)
        case TaskCancelled() as p:
            set_task(rows, p.task_id, "cancelled", at)
        case _:
            return


def assign(rows: Rows, event: Event, p: TaskAssigned, at: datetime) -> None:
    """A new task, or a new attempt of a known one (its project, area and role stay)."""
    task = rows.tasks.get(p.task_id)
    if task is None:
        task = rows.tasks[p.task_id] = {"task_id": p.task_id, "project_id": event.project_id,
                                        "area": p.area, "role": p.role.value, "verified": False,
                                        "tenant": tenant_of(event)}
        rows.counts.setdefault((event.project_id, p.area), [0, 0])[0] += 1
    elif task["verified"]:
        rows.counts.setdefault((task["project_id"], task["area"]), [0, 0])[1] -= 1
    task.update(title=p.title, status="assigned", verified=False, attempt=p.attempt, round=0,
                assignee=None, deadline_ms=p.deadline_ms, requirement_ids=list(p.requirement_ids),
                updated_at=at)
    rows.changed["tasks"].add(p.task_id)


def set_task(rows: Rows, task_id: str, status: str, at: datetime, attempt: int | None = None,
          round: int | None = None, assignee: str | None = None) -> None:
    if (task := rows.tasks.get(task_id)) is None:
        return
    task.update(status=status, updated_at=at)
    for column, value in (("attempt", attempt), ("round", round), ("assignee", assignee)):
        if value is not None:
            task[column] = value
    rows.changed["tasks"].add(task_id)

