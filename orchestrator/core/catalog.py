"""The one catalog: event type <-> payload class <-> Avro record <-> the actor that emits it.

A single writer per event type (STYLE habit 11). `worker` is the shared lease protocol
that the dev, qa and devops workers all speak.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass

from orchestrator.core import events as e

NAMESPACE = "orchestrator.events"


@dataclass(frozen=True)
class Entry:
    type: str
    cls: builtins.type
    emitter: str

    @property
    def record_name(self) -> str:
        return f"{NAMESPACE}.{self.cls.__name__}"


ENTRIES: tuple[Entry, ...] = (
    Entry("spec.submitted", e.SpecSubmitted, "client"),
    Entry("spec.rejected", e.SpecRejected, "spec"),
    Entry("project.created", e.ProjectCreated, "spec"),
    Entry("charter.created", e.CharterCreated, "cto"),
    Entry("module.planned", e.ModulePlanned, "cto"),
    Entry("backlog.created", e.BacklogCreated, "pm"),
    Entry("task.assigned", e.TaskAssigned, "pm"),
    Entry("task.started", e.TaskStarted, "worker"),
    Entry("task.heartbeat", e.TaskHeartbeat, "worker"),
    Entry("task.completed", e.TaskCompleted, "dev"),
    Entry("task.failed", e.TaskFailed, "worker"),
    Entry("qa.requested", e.QaRequested, "monitor"),
    Entry("qa.passed", e.QaPassed, "qa"),
    Entry("qa.failed", e.QaFailed, "qa"),
    Entry("task.rework_requested", e.TaskReworkRequested, "monitor"),
    Entry("devops.requested", e.DevopsRequested, "monitor"),
    Entry("devops.deployed", e.DevopsDeployed, "devops"),
    Entry("devops.failed", e.DevopsFailed, "devops"),
    Entry("smoke.passed", e.SmokePassed, "devops"),
    Entry("smoke.failed", e.SmokeFailed, "devops"),
    Entry("task.verified", e.TaskVerified, "monitor"),
    Entry("task.cancelled", e.TaskCancelled, "pm"),
    Entry("monitor.alert", e.MonitorAlert, "monitor"),
    Entry("pm.escalated", e.PmEscalated, "pm"),
    Entry("cto.decided", e.CtoDecided, "cto"),
    Entry("module.completed", e.ModuleCompleted, "pm"),
    Entry("module.blocked", e.ModuleBlocked, "pm"),
    Entry("project.completed", e.ProjectCompleted, "cto"),
    Entry("project.blocked", e.ProjectBlocked, "cto"),
    Entry("project.paused", e.ProjectPaused, "client"),
    Entry("project.resumed", e.ProjectResumed, "client"),
    Entry("project.cancelled", e.ProjectCancelled, "client"),
    Entry("project.sealed", e.ProjectSealed, "projector"),
    Entry("task.usage", e.TaskUsage, "worker"),
    Entry("role.hired", e.RoleHired, "cto"),
    Entry("role.released", e.RoleReleased, "cto"),
    Entry("approval.requested", e.ApprovalRequested, "worker"),
    Entry("approval.granted", e.ApprovalGranted, "client"),
    Entry("approval.rejected", e.ApprovalRejected, "client"),
    Entry("task.reassigned", e.TaskReassigned, "client"),
    Entry("module.paused", e.ModulePaused, "client"),
    Entry("module.resumed", e.ModuleResumed, "client"),
    Entry("module.cancelled", e.ModuleCancelled, "client"),
)

WORKER_ROLES = frozenset({e.Role.DEV, e.Role.QA, e.Role.DEVOPS})

BY_TYPE: dict[str, Entry] = {entry.type: entry for entry in ENTRIES}
BY_CLASS: dict[builtins.type, Entry] = {entry.cls: entry for entry in ENTRIES}
BY_RECORD: dict[str, Entry] = {entry.record_name: entry for entry in ENTRIES}


def type_of(payload: object) -> str:
    return BY_CLASS[type(payload)].type


def may_emit(actor: str, event_type: str) -> bool:
    emitter = BY_TYPE[event_type].emitter
    return emitter == actor or (emitter == "worker" and actor in WORKER_ROLES)
