"""Alerts and rulings: another attempt, an escalation to the CTO, or nothing.

The PM hears status only from the Monitor (`monitor.alert`) and rulings from the CTO
(`cto.decided`); it acts on the current attempt of an open task only, so a stale alert
or a repeated ruling changes nothing.
"""

from __future__ import annotations

import dataclasses

from orchestrator.core.envelope import Actor, Event, follow
from orchestrator.core.events import AlertKind, CtoDecided, Decision, MonitorAlert, PmEscalated, Severity
from services.pm.controls import block
from services.pm.state import Running, Task, is_open


def triage(me: Actor, cause: Event, module: Running, alert: MonitorAlert) -> list[Event]:
    task = module.tasks.get(alert.task_id)
    if not is_open(task) or task is None or task.escalated:
        return []
    attempt = task.assignment.attempt
    if alert.attempt != attempt:
        return []  # stale: an older attempt's alert
    reason = f"{alert.kind.value}: {alert.message}"
    if alert.kind is AlertKind.BUDGET and alert.severity is Severity.WARNING:
        return []  # a budget warning informs; an exhausted budget (critical) stops the work
    if alert.severity is Severity.CRITICAL:
        return [escalate(me, cause, task, alert.kind, reason)]
    if attempt < module.plan.policy.max_attempts:
        return [reassign(me, cause, task)]
    exhausted = f"{reason} (attempts exhausted: {attempt} of {module.plan.policy.max_attempts})"
    return [escalate(me, cause, task, alert.kind, exhausted)]


def apply(me: Actor, cause: Event, module: Running, ruling: CtoDecided) -> list[Event]:
    """The CTO's ruling on an escalation: retry once more, or block the module."""
    task = module.tasks.get(ruling.task_id)
    if ruling.decision is Decision.RETRY:
        if task is None or not is_open(task) or not task.escalated:
            return []
        return [reassign(me, cause, task)]
    return block(me, cause, module, ruling.reason, f"blocked by the CTO: {ruling.reason}")


def reassign(me: Actor, cause: Event, task: Task) -> Event:
    again = dataclasses.replace(task.assignment, attempt=task.assignment.attempt + 1)
    return follow(cause, again, me, again.task_id, again.attempt)


def escalate(me: Actor, cause: Event, task: Task, kind: AlertKind, reason: str) -> Event:
    """`kind` travels as a field: the CTO rules on it (`reason` is for people)."""
    a = task.assignment
    return follow(cause, PmEscalated(a.task_id, a.area, reason, a.attempt, kind), me, a.task_id)
