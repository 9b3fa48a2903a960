"""Approval gates: an unanswered `approval.requested` holds its task's clocks and, past
its own deadline, raises one `approval_overdue` (the PM waits on).

The answer, granted or rejected, moves the task's deadline on by the time waited.
"""

from __future__ import annotations

from dataclasses import replace

from orchestrator.core.envelope import Event, follow
from orchestrator.core.events import (
    AlertKind,
    ApprovalGranted,
    ApprovalRejected,
    ApprovalRequested,
    MonitorAlert,
    Severity,
)
from services.monitor.state import Asked, State, put
from services.monitor.track import Running


def asked(state: State, event: Event, p: ApprovalRequested) -> State:
    if p.task_id not in state.tasks or p.approval_id in state.approvals:
        return state
    return replace(state, approvals={**state.approvals, p.approval_id: Asked(event.occurred_at, event, p)})


def answered(state: State, p: ApprovalGranted | ApprovalRejected, t: int) -> State:
    if p.approval_id not in state.approvals:
        return state
    waited = t - state.approvals[p.approval_id].since
    state = replace(state, approvals={a: w for a, w in state.approvals.items() if a != p.approval_id})
    track = state.tasks.get(p.task_id)
    if track is None or not isinstance(track.phase, Running):
        return state
    return put(state, replace(track, phase=replace(track.phase, since=track.phase.since + waited)))


def timers(state: State, now: int) -> list[Event]:
    """An approval unanswered past its deadline: one `approval_overdue` alert (the PM waits)."""
    out = []
    for aid, pending in sorted(state.approvals.items()):
        if pending.request.area in state.paused_areas:
            continue  # its module is paused: the deadline stands still
        r, waited = pending.request, now - pending.since
        if waited >= r.deadline_ms and not _alerted(state, pending):
            text = f"approval {aid} ({r.gate}) unanswered {waited} ms after it was asked"
            alert = MonitorAlert(r.task_id, r.area, AlertKind.APPROVAL_OVERDUE, Severity.WARNING,
                                 r.attempt, r.round, text)
            kind = AlertKind.APPROVAL_OVERDUE.value
            out.append(replace(follow(pending.cause, alert, state.me, kind, aid), occurred_at=now))
    return out


def due_times(state: State) -> list[int]:
    """When each unanswered approval not alerted yet, of a module not paused, is overdue."""
    return [a.since + a.request.deadline_ms for a in state.approvals.values()
            if not _alerted(state, a) and a.request.area not in state.paused_areas]


def _alerted(state: State, pending: Asked) -> bool:
    r = pending.request
    track = state.tasks.get(r.task_id)
    return track is None or (AlertKind.APPROVAL_OVERDUE.value, r.attempt, r.round) in track.alerted
