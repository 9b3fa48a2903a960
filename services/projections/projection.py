"""The pure fold: a batch of events -> the final row of every read-model key it touches.

No I/O here. The projector loads the stored rows of the keys a batch touches into `Rows`,
folds the batch's new events into them in log order, and writes each changed row once.
Every rule equals applying the events one by one, so the rows do not depend on where
batches start and end (a rebuild equals the live projection). Times come from the event,
never the wall clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from orchestrator.core.envelope import DEFAULT_TENANT, Event
from orchestrator.core.events import (
    ApprovalGranted,
    ApprovalRejected,
    ApprovalRequested,
    BacklogCreated,
    DevopsDeployed,
    DevopsFailed,
    DevopsRequested,
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
    QaFailed,
    QaPassed,
    QaRequested,
    SmokeFailed,
    SpecRejected,
    TaskAssigned,
    TaskCancelled,
    TaskCompleted,
    TaskFailed,
    TaskReworkRequested,
    TaskStarted,
    TaskVerified,
)
from services.projections import org

Row = dict[str, Any]


class Position(NamedTuple):
    topic: str
    partition: int
    offset: int


@dataclass
class Rows:
    """Stored rows of the keys a batch touches, then the batch's changes to them."""

    projects: dict[str, Row] = field(default_factory=dict)
    modules: dict[tuple[str, str], Row] = field(default_factory=dict)
    tasks: dict[str, Row] = field(default_factory=dict)
    counts: dict[tuple[str, str], list[int]] = field(default_factory=dict)  # [tasks, verified] per module
    alerts: dict[str, Row] = field(default_factory=dict)  # new rows only: inserts keep the first
    rejections: dict[str, Row] = field(default_factory=dict)
    roles: dict[tuple[str, str], Row] = field(default_factory=dict)  # this batch's org rows only
    instances: dict[tuple[str, str, str, str], Row] = field(default_factory=dict)
    approvals: dict[str, Row] = field(default_factory=dict)
    changed: dict[str, set[Any]] = field(default_factory=lambda: {"projects": set(), "modules": set(),
                                                                  "tasks": set(), "approvals": set()})

    def written(self, table: str) -> list[Row]:
        found: dict[Any, Row] = getattr(self, table)
        return [found[k] for k in sorted(self.changed[table])]


class Keys(NamedTuple):
    projects: list[str]
    tasks: list[str]
    approvals: list[str] = []


def touched(events: list[Event]) -> Keys:
    """The project, task and approval ids whose stored rows the fold of `events` needs."""
    tasks = {t for e in events for t in (getattr(e.payload, "task_id", None),
                                         getattr(e.payload, "dev_task_id", None)) if t}
    approvals = {a for e in events if (a := getattr(e.payload, "approval_id", None))}
    return Keys(sorted({e.project_id for e in events if e.project_id}), sorted(tasks), sorted(approvals))


def timestamp(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def tenant_of(event: Event) -> str:
    return event.tenant or DEFAULT_TENANT


def fold(rows: Rows, event: Event) -> None:
    """Apply one first-seen event to `rows` (its `events` row is written apart)."""
    at, pid = timestamp(event.occurred_at), event.project_id
    match event.payload:
        case ProjectCreated(name=name, modules=modules):
            spec = event.artifacts[0] if event.artifacts else None
            if pid not in rows.projects:
                rows.projects[pid] = {
                    "project_id": pid, "name": name, "status": "created", "request_id": event.request_id,
                    "spec_uri": spec.uri if spec else None, "spec_sha256": spec.sha256 if spec else None,
                    "modules": len(modules), "created_at": at, "updated_at": at,
                    "tenant": tenant_of(event)}
                rows.changed["projects"].add(pid)
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
        case ModulePaused(area=area) | ModuleResumed(area=area) | ModuleCancelled(area=area) as control:
            module = rows.modules.get((pid, area))
            if module is not None and module.get("status") not in MODULE_ENDED:
                _module(rows, pid, area, at)
                module["status"] = CONTROLLED_MODULE[type(control)]
        case TaskAssigned() as p:
            _assign(rows, event, p, at)
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
            _approval(rows, event, p, at)
        case _:
            _task_status(rows, event, at)
    org.fold(rows.roles, rows.instances, event, at)


def _approval(rows: Rows, event: Event, p: ApprovalRequested | ApprovalGranted | ApprovalRejected,
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
            _task(rows, p.task_id, "awaiting_approval", at)
        case ApprovalGranted() | ApprovalRejected() if found is not None and found["status"] == "pending":
            status = "granted" if isinstance(p, ApprovalGranted) else "rejected"
            found.update(status=status, reason=p.reason, decided_by=event.actor.instance, decided_at=at)
            if status == "granted":
                _task(rows, p.task_id, "assigned", at)
        case _:
            return
    rows.changed["approvals"].add(p.approval_id)


def _task_status(rows: Rows, event: Event, at: datetime) -> None:
    """The events that only move a task's status (and its attempt, round or assignee)."""
    match event.payload:
        case TaskStarted() as p:
            _task(rows, p.task_id, "started", at, p.attempt, p.round, event.actor.instance)
        case TaskCompleted() | QaPassed() as p:
            _task(rows, p.task_id, "completed", at, round=p.round)
        case TaskFailed() | DevopsFailed() | SmokeFailed() as p:
            _task(rows, p.task_id, "failed", at, round=p.round)
        case QaRequested() | DevopsRequested() as p:
            _task(rows, p.task_id, "assigned", at, p.attempt, p.round)
        case QaFailed() as p:
            _task(rows, p.task_id, "completed", at, round=p.round)
            _task(rows, p.dev_task_id, "qa_failed", at)
        case TaskReworkRequested() as p:
            _task(rows, p.task_id, "assigned", at, round=p.round)
        case DevopsDeployed() as p:
            _task(rows, p.task_id, "deployed", at, round=p.round)
        case TaskCancelled() as p:
            _task(rows, p.task_id, "cancelled", at)
        case _:
            return


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


def _assign(rows: Rows, event: Event, p: TaskAssigned, at: datetime) -> None:
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


def _task(rows: Rows, task_id: str, status: str, at: datetime, attempt: int | None = None,
          round: int | None = None, assignee: str | None = None) -> None:
    if (task := rows.tasks.get(task_id)) is None:
        return
    task.update(status=status, updated_at=at)
    for column, value in (("attempt", attempt), ("round", round), ("assignee", assignee)):
        if value is not None:
            task[column] = value
    rows.changed["tasks"].add(task_id)
