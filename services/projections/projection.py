"""The pure fold: a batch of events -> the final row of every read-model key it touches.

No I/O here. The projector loads the stored rows of the keys a batch touches into `Rows`,
folds the batch's new events into them in log order, and writes each changed row once.
Every rule equals applying the events one by one, so the rows do not depend on where
batches start and end (a rebuild equals the live projection). Times come from the event,
never the wall clock.
"""

from __future__ import annotations

from datetime import datetime

from orchestrator.core.envelope import Event
from orchestrator.core.events import (
    ApprovalGranted,
    ApprovalRejected,
    ApprovalRequested,
    BacklogCreated,
    ModuleBlocked,
    ModuleCancelled,
    ModuleCompleted,
    ModulePaused,
    ModulePlanned,
    ModuleResumed,
    MonitorAlert,
    ProjectBlocked,
    ProjectCancelled,
    ProjectCompleted,
    ProjectCreated,
    ProjectPaused,
    ProjectResumed,
    SpecRejected,
    TaskAssigned,
    TaskVerified,
)
from services.projections import org
from services.projections.rowset import Row, Rows, tenant_of, timestamp
from services.projections.task_rows import approval, assign, task_status


def fold(rows: Rows, event: Event) -> None:
    """Apply one first-seen event to `rows` (its `events` row is written apart)."""
    at, pid = timestamp(event.occurred_at), event.project_id
    match event.payload:
        case ProjectCreated() as p:
            _create(rows, event, p, at)
        case ProjectCompleted():
            _project(rows, pid, "completed", at)
        case ProjectBlocked():
            _project(rows, pid, "blocked", at)
        case ProjectPaused() | ProjectResumed() | ProjectCancelled() as control:
            _control(rows, pid, control, at)
        case SpecRejected(errors=errors):
            rows.rejections.setdefault(event.request_id, {
                "request_id": event.request_id, "event_id": event.event_id,
                "errors": [{"path": e.path, "message": e.message} for e in errors], "occurred_at": at,
                "tenant": tenant_of(event)})
            if pid:
                _project(rows, pid, "rejected", at)
        case (ModulePlanned() | BacklogCreated() | ModuleCompleted() | ModuleBlocked() | ModulePaused()
              | ModuleResumed() | ModuleCancelled()):
            _module_event(rows, pid, event.payload, at)
        case TaskAssigned() as p:
            assign(rows, event, p, at)
            _recount(rows, pid, p.area, at)
        case TaskVerified() as p:
            task = rows.tasks.get(p.task_id)
            if task is not None:
                if not task["verified"]:
                    rows.counts.setdefault((task["project_id"], task["area"]), [0, 0])[1] += 1
                task.update(status="verified", verified=True, updated_at=at)
                rows.changed["tasks"].add(p.task_id)
            _recount(rows, pid, p.area, at)
        case MonitorAlert() as p:
            rows.alerts.setdefault(event.event_id, {
                "event_id": event.event_id, "project_id": pid, "request_id": event.request_id,
                "task_id": p.task_id, "area": p.area, "kind": p.kind.value, "severity": p.severity.value,
                "attempt": p.attempt, "round": p.round, "message": p.message, "occurred_at": at,
                "tenant": tenant_of(event)})
        case ApprovalRequested() | ApprovalGranted() | ApprovalRejected() as p:
            approval(rows, event, p, at)
        case _:
            task_status(rows, event, at)
    org.fold(rows.roles, rows.instances, event, at)






def _create(rows: Rows, event: Event, p: ProjectCreated, at: datetime) -> None:
    pid, spec = event.project_id, (event.artifacts[0] if event.artifacts else None)
    if pid not in rows.projects:
        rows.projects[pid] = {
            "project_id": pid, "name": p.name, "status": "created", "request_id": event.request_id,
            "spec_uri": spec.uri if spec else None, "spec_sha256": spec.sha256 if spec else None,
            "modules": len(p.modules), "created_at": at, "updated_at": at, "tenant": tenant_of(event)}
        rows.changed["projects"].add(pid)


def _module_event(rows: Rows, pid: str, payload: object, at: datetime) -> None:
    """A module planned, its backlog, its end, or an operator's control of it."""
    match payload:
        case ModulePlanned(area=area):
            planned = rows.modules.setdefault((pid, area), {
                "project_id": pid, "area": area, "backlog_total": 0, "tasks_total": 0, "tasks_verified": 0})
            planned.update(status="planned", updated_at=at)
            rows.changed["modules"].add((pid, area))
        case BacklogCreated(area=area, tasks=tasks):
            if module := _module(rows, pid, area, at):
                module["backlog_total"] = len(tasks)
                module["tasks_total"] = max(module["tasks_total"], len(tasks))
        case ModuleCompleted(area=area):
            if module := _module(rows, pid, area, at):
                module["status"] = "completed"
        case ModuleBlocked(area=area):
            if (module := _module(rows, pid, area, at)) and module.get("status") != "cancelled":
                module["status"] = "blocked"  # a cancelled module ends blocked, and says why
        case ModulePaused(area=area) | ModuleResumed(area=area) | ModuleCancelled(area=area):
            module = rows.modules.get((pid, area))
            if module is not None and module.get("status") not in MODULE_ENDED:
                _module(rows, pid, area, at)
                module["status"] = CONTROLLED_MODULE[type(payload)]


def _project(rows: Rows, pid: str, status: str, at: datetime) -> None:
    if (project := rows.projects.get(pid)) is not None:
        project.update(status=status, updated_at=at)
        rows.changed["projects"].add(pid)


CONTROLLED = {ProjectPaused: "paused", ProjectResumed: "resumed", ProjectCancelled: "cancelled"}


CONTROLLED_MODULE = {ModulePaused: "paused", ModuleResumed: "resumed", ModuleCancelled: "cancelled"}
MODULE_ENDED = ("completed", "blocked", "cancelled")


def _control(rows: Rows, pid: str, control: object, at: datetime) -> None:
    """An operator's pause, resume or cancel, unless the project has ended already."""
    project = rows.projects.get(pid)
    if project is not None and project["status"] not in ("completed", "blocked", "rejected", "cancelled"):
        _project(rows, pid, CONTROLLED[type(control)], at)


def _module(rows: Rows, pid: str, area: str, at: datetime) -> Row | None:
    """The module's row, stamped `at` and marked changed; None when there is none."""
    module = rows.modules.get((pid, area))
    if module is not None:
        module["updated_at"] = at
        rows.changed["modules"].add((pid, area))
    return module


def _recount(rows: Rows, pid: str, area: str, at: datetime) -> None:
    if module := _module(rows, pid, area, at):
        total, verified = rows.counts.get((pid, area), (0, 0))
        module["tasks_total"] = max(module["backlog_total"], total)
        module["tasks_verified"] = verified




