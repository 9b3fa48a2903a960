"""The pure fold: one event -> the row operations it makes on the read models.

No I/O here. Each operation names a statement in `views.SQL` and carries its parameters;
the projector runs them in log order inside one transaction with the positions. Times
come from the event (never the wall clock), so a rebuild yields identical rows.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
from datetime import UTC, datetime
from typing import Any, NamedTuple

from orchestrator.envelope import Event
from orchestrator.events import (
    BacklogCreated,
    DevopsDeployed,
    DevopsFailed,
    DevopsRequested,
    ModuleBlocked,
    ModuleCompleted,
    ModulePlanned,
    MonitorAlert,
    ProjectBlocked,
    ProjectCompleted,
    ProjectCreated,
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


class Op(NamedTuple):
    statement: str  # a key of views.SQL
    params: dict[str, Any]


class Position(NamedTuple):
    topic: str
    partition: int
    offset: int


def timestamp(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode()}
    return value


def event_row(event: Event, at: Position) -> dict[str, Any]:
    return {
        "event_id": event.event_id, "topic": at.topic, "partition": at.partition,
        "offset": at.offset, "type": event.type, "project_id": event.project_id,
        "request_id": event.request_id, "causation_id": event.causation_id,
        "actor_role": event.actor.role.value, "actor_area": event.actor.area,
        "actor_instance": event.actor.instance, "occurred_at": timestamp(event.occurred_at),
        "artifacts": jsonable(list(event.artifacts)), "payload": jsonable(event.payload),
    }


def _task(event: Event, task_id: str, status: str, **extra: Any) -> Op:
    """A status change of a task; attempt/round/assignee stay unless given."""
    params = {"task_id": task_id, "status": status, "at": timestamp(event.occurred_at),
              "attempt": None, "round": None, "assignee": None, **extra}
    return Op("task_status", params)


def _module_counts(event: Event, area: str) -> Op:
    return Op("module_counts", {"project_id": event.project_id, "area": area,
                                "at": timestamp(event.occurred_at)})


def project(event: Event) -> list[Op]:
    """Row operations for one (first-seen) event, beyond the `events` row itself."""
    at = timestamp(event.occurred_at)
    pid = event.project_id
    match event.payload:
        case ProjectCreated(name=name, modules=modules):
            spec = event.artifacts[0] if event.artifacts else None
            return [Op("project_created", {
                "project_id": pid, "name": name, "request_id": event.request_id,
                "spec_uri": spec.uri if spec else None, "spec_sha256": spec.sha256 if spec else None,
                "modules": len(modules), "at": at})]
        case ProjectCompleted():
            return [Op("project_status", {"project_id": pid, "status": "completed", "at": at})]
        case ProjectBlocked():
            return [Op("project_status", {"project_id": pid, "status": "blocked", "at": at})]
        case SpecRejected(errors=errors):
            ops = [Op("rejection", {"request_id": event.request_id, "event_id": event.event_id,
                                    "errors": jsonable(errors), "at": at})]
            if pid:
                ops.append(Op("project_status", {"project_id": pid, "status": "rejected", "at": at}))
            return ops
        case ModulePlanned(area=area):
            return [Op("module_planned", {"project_id": pid, "area": area, "at": at})]
        case BacklogCreated(area=area, tasks=tasks):
            return [Op("module_backlog", {"project_id": pid, "area": area, "total": len(tasks), "at": at})]
        case ModuleCompleted(area=area):
            return [Op("module_status", {"project_id": pid, "area": area, "status": "completed", "at": at})]
        case ModuleBlocked(area=area):
            return [Op("module_status", {"project_id": pid, "area": area, "status": "blocked", "at": at})]
        case TaskAssigned() as p:
            return [Op("task_assigned", {
                "task_id": p.task_id, "project_id": pid, "area": p.area, "role": p.role.value,
                "title": p.title, "attempt": p.attempt, "deadline_ms": p.deadline_ms,
                "requirement_ids": list(p.requirement_ids), "at": at}), _module_counts(event, p.area)]
        case TaskStarted() as p:
            return [_task(event, p.task_id, "started", attempt=p.attempt, round=p.round,
                          assignee=event.actor.instance)]
        case TaskCompleted() as p:
            return [_task(event, p.task_id, "completed", round=p.round)]
        case TaskFailed() as p:
            return [_task(event, p.task_id, "failed", round=p.round)]
        case QaRequested() | DevopsRequested() as p:
            return [_task(event, p.task_id, "assigned", attempt=p.attempt, round=p.round)]
        case QaPassed() as p:
            return [_task(event, p.task_id, "completed", round=p.round)]
        case QaFailed() as p:
            return [_task(event, p.task_id, "completed", round=p.round),
                    _task(event, p.dev_task_id, "qa_failed")]
        case TaskReworkRequested() as p:
            return [_task(event, p.task_id, "assigned", round=p.round)]
        case DevopsDeployed() as p:
            return [_task(event, p.task_id, "deployed", round=p.round)]
        case DevopsFailed() | SmokeFailed() as p:
            return [_task(event, p.task_id, "failed", round=p.round)]
        case TaskVerified() as p:
            return [Op("task_verified", {"task_id": p.task_id, "at": at}), _module_counts(event, p.area)]
        case TaskCancelled() as p:
            return [_task(event, p.task_id, "cancelled")]
        case MonitorAlert() as p:
            return [Op("alert", {
                "event_id": event.event_id, "project_id": pid, "request_id": event.request_id,
                "task_id": p.task_id, "area": p.area, "kind": p.kind.value,
                "severity": p.severity.value, "attempt": p.attempt, "round": p.round,
                "message": p.message, "at": at})]
        case _:
            return []
