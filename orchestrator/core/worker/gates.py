"""Approval gates of the policy: which gates hold a claim, and how a task's gates move.

A gate is asked once per task (`approval_id`), then answered once: granted, it holds
for every later attempt; rejected, the work never comes.
"""

from __future__ import annotations

from dataclasses import replace

from orchestrator.core.envelope import Event, derive_id
from orchestrator.core.events import (
    Approval,
    ApprovalGranted,
    ApprovalRejected,
    ApprovalRequested,
    DevopsRequested,
    TaskAssigned,
)
from orchestrator.core.worker import State, Task


def approval_id(project_id: str, task_id: str, gate: str) -> str:
    """One approval per task and gate: granted once, it holds for every later attempt."""
    return derive_id(project_id, "approval", task_id, gate)


def gates_of(spec: TaskAssigned, trigger: Event) -> list[Approval]:
    """The task's gates that hold this trigger's claim: its role's gate on the task's first
    claim, a deployment's gate on a `devops.requested` of that scope."""
    p = trigger.payload
    scope = f"deployment_{p.scope.value}" if isinstance(p, DevopsRequested) else None
    return [g for g in spec.approvals if g.before in (spec.role.value, scope)]


def asked(state: State, task_id: str, gate: str) -> bool:
    task = state.tasks.get(task_id)
    return task is not None and task.gates.get(gate) == "requested"


def gate(task: Task, p: ApprovalRequested | ApprovalGranted | ApprovalRejected) -> Task:
    match p:
        case ApprovalRequested(gate=gate):
            return replace(task, gates={gate: "requested", **task.gates})  # an answer stays
        case _:
            status = "granted" if isinstance(p, ApprovalGranted) else "rejected"
            if task.gates.get(p.gate) != "requested":
                return task
            return replace(task, gates={**task.gates, p.gate: status})
