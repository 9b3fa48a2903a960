"""An operator's controls: the events, and when each is allowed.

Pause, resume and cancel a project or one of its modules; grant or reject an approval; hand
a task to another executor. The operator's word is a fact on the log (emitter `client`): the API and the CLI
build the event here, after checking the status in the read model, and produce it keyed by
the project, stamped with the time they pass in. Every actor treats a repeat as nothing
new, so a retried request is harmless.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.core.envelope import Actor, Event, Payload, derive_id
from orchestrator.core.events import (
    EXECUTOR_KINDS,
    ApprovalGranted,
    ApprovalRejected,
    Executor,
    ModuleCancelled,
    ModulePaused,
    ModuleResumed,
    ProjectCancelled,
    ProjectPaused,
    ProjectResumed,
    Role,
    TaskReassigned,
)

ACTIONS: dict[str, type[ProjectPaused | ProjectResumed | ProjectCancelled]] = {
    "pause": ProjectPaused, "resume": ProjectResumed, "cancel": ProjectCancelled}
# the project statuses (read model) each action may start from
ALLOWED = {
    "pause": {"created", "resumed"},
    "resume": {"paused"},
    "cancel": {"created", "paused", "resumed"},
}


class Refused(ValueError):
    """The action does not apply to the project as it stands (an HTTP 409, a CLI error)."""


def event(action: str, project_id: str, request_id: str, status: str, reason: str = "",
          who: str = "operator", *, now_ms: int, tenant: str | None = None) -> Event:
    """`project.paused|resumed|cancelled`, stamped with the project's `tenant` when given, so
    that tenant's reads (its timeline, its live page) see it and what it causes."""
    if (why := project_refusal(action, project_id, status)) is not None:
        raise Refused(why)
    return _said(project_id, request_id, ACTIONS[action](reason), who, now_ms, tenant,
                 f"project.{action}")


def project_refusal(action: str, project_id: str, status: str) -> str | None:
    """Why `action` does not apply to a project in `status`, or None: the one rule `event`
    and the dashboard's project buttons share."""
    if action not in ACTIONS:
        return f"unknown action {action!r}; known: {', '.join(ACTIONS)}"
    if status not in ALLOWED[action]:
        return f"cannot {action} project {project_id}: it is {status}"
    return None


def project_actions(project_id: str, status: str) -> list[str]:
    """The actions `event` would take on a project in `status` (the dashboard's buttons)."""
    return [action for action in ACTIONS if project_refusal(action, project_id, status) is None]


MODULE_ACTIONS: dict[str, type[ModulePaused | ModuleResumed | ModuleCancelled]] = {
    "pause": ModulePaused, "resume": ModuleResumed, "cancel": ModuleCancelled}
# the module statuses (read model) each action may start from; its project must be live
MODULE_ALLOWED = {
    "pause": {"planned", "resumed"},
    "resume": {"paused"},
    "cancel": {"planned", "paused", "resumed"},
}


def module_event(action: str, module: Mapping[str, Any], reason: str = "", who: str = "operator",
                 *, now_ms: int) -> Event:
    """`module.paused|resumed|cancelled` of a module as the read model has it
    (`views.MODULE_CONTROL`), if its status allows it and its project is still going."""
    if (why := module_refusal(action, module)) is not None:
        raise Refused(why)
    pid, area = module["project_id"], module["area"]
    return _said(pid, module["request_id"], MODULE_ACTIONS[action](area, reason), who, now_ms,
                 module.get("tenant"), f"module.{action}", area)


def module_refusal(action: str, module: Mapping[str, Any]) -> str | None:
    """Why `action` does not apply to `module` (keys `project_id`, `area`, `status`,
    `project_status`), or None: the one rule `module_event` and the dashboard's buttons share."""
    if action not in MODULE_ACTIONS:
        return f"unknown action {action!r}; known: {', '.join(MODULE_ACTIONS)}"
    pid, area = module["project_id"], module["area"]
    if module["project_status"] not in LIVE:
        return f"cannot {action} module {area} of {pid}: the project is {module['project_status']}"
    if module["status"] not in MODULE_ALLOWED[action]:
        return f"cannot {action} module {area} of {pid}: it is {module['status']}"
    return None


def module_actions(module: Mapping[str, Any]) -> list[str]:
    """The actions `module_event` would take on `module` as it stands (the dashboard's buttons)."""
    return [action for action in MODULE_ACTIONS if module_refusal(action, module) is None]


def _said(project_id: str, request_id: str, payload: Payload, who: str, at: int,
          tenant: str | None, *parts: object) -> Event:
    """The operator's event, stamped with the project's tenant (from the read model's row) so
    that tenant's reads (its timeline, its live page) see it and what it causes."""
    return Event(derive_id(project_id, *parts, at), project_id, request_id, None, at,
                 Actor(Role.CLIENT, None, who), payload, tenant=tenant)


ANSWERS: dict[str, type[ApprovalGranted | ApprovalRejected]] = {
    "grant": ApprovalGranted, "reject": ApprovalRejected}
LIVE = {"created", "paused", "resumed"}  # project statuses an approval, a hand-off, a module control act in


def answer(action: str, approval: Mapping[str, Any], reason: str = "", who: str = "operator", *,
           now_ms: int) -> Event:
    """`approval.granted|rejected` of an approval as the read model has it (`views.APPROVAL`),
    if still pending in a project still going."""
    if (why := answer_refusal(action, approval)) is not None:
        raise Refused(why)
    aid = approval["approval_id"]
    payload = ANSWERS[action](aid, approval["task_id"], approval["area"], Role(approval["role"]),
                              approval["gate"], reason)
    return _said(approval["project_id"], approval["request_id"], payload, who, now_ms,
                 approval.get("tenant"), aid, action)


def answer_refusal(action: str, approval: Mapping[str, Any]) -> str | None:
    """Why `action` does not answer `approval` (keys `approval_id`, `status`, `project_status`),
    or None: the one rule `answer` and the dashboard's Grant / Reject buttons share."""
    if action not in ANSWERS:
        return f"unknown action {action!r}; known: {', '.join(ANSWERS)}"
    aid = approval["approval_id"]
    if approval["status"] != "pending":
        return f"cannot {action} approval {aid}: it is {approval['status']}"
    if approval["project_status"] not in LIVE:
        return f"cannot {action} approval {aid}: project is {approval['project_status']}"
    return None


ENDED_TASK = {"verified", "cancelled"}


def handoff_refusal(task: Mapping[str, Any], kind: str) -> str | None:
    """Why `task` (keys `task_id`, `status`, `project_status`) cannot go to an executor of
    `kind`, or None: the one rule `reassign` and the dashboard's hand-off form share."""
    if kind not in EXECUTOR_KINDS:
        return f"unknown executor kind {kind!r}; known: {', '.join(EXECUTOR_KINDS)}"
    if task["status"] in ENDED_TASK or task["project_status"] not in LIVE:
        return (f"cannot reassign task {task['task_id']}: it is {task['status']}, "
                f"its project {task['project_status']}")
    return None


def reassign(task: Mapping[str, Any], kind: str, options: Mapping[str, str] | None = None,
             reason: str = "", who: str = "operator", *, now_ms: int) -> Event:
    """`task.reassigned` of a task as the read model has it (`views.HANDOFF`) to an executor
    of `kind`, unless the task or its project ended."""
    if (why := handoff_refusal(task, kind)) is not None:
        raise Refused(why)
    tid = task["task_id"]
    role = Role(task["role"])
    payload = TaskReassigned(tid, task["area"], role, Executor(role, kind, None, dict(options or {})),
                             reason)
    return _said(task["project_id"], task["request_id"], payload, who, now_ms, task.get("tenant"),
                 tid, "reassign", kind)
