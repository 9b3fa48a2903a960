"""Alerts: at most one per (kind, task, attempt, round), remembered on the task.

In one place, so the clocks, the verdicts and the failures all raise (and dedupe)
alerts alike.
"""

from __future__ import annotations

from dataclasses import replace

from orchestrator.core.envelope import Event, follow
from orchestrator.core.events import AlertKind, DevopsFailed, MonitorAlert, Severity, SmokeFailed, TaskFailed
from services.monitor.state import State, put
from services.monitor.track import Track


def alert(state: State, cause: Event, track: Track, kind: AlertKind, text: str) -> list[Event]:
    attempt, round = track.spec.attempt, track.round
    if (kind.value, attempt, round) in track.alerted:
        return []
    critical = kind == AlertKind.REPEATED_QA_FAILURE
    severity = Severity.CRITICAL if critical else Severity.WARNING
    raised = MonitorAlert(track.spec.task_id, track.spec.area, kind, severity, attempt, round, text)
    return [follow(cause, raised, state.me, kind.value, track.spec.task_id, attempt, round)]


def failed(state: State, cause: Event, p: DevopsFailed | SmokeFailed | TaskFailed) -> list[Event]:
    """A deploy, the smoke tests or a run failed: a warning (the PM decides on a retry)."""
    if isinstance(p, DevopsFailed):
        kind, text = AlertKind.DEPLOY_FAILED, f"deploy ({p.scope}) failed: {p.reason}"
    elif isinstance(p, SmokeFailed):
        kind, text = AlertKind.SMOKE_FAILED, f"smoke tests ({p.scope}) failed: {p.reason}"
    else:
        kind, text = AlertKind.TASK_FAILED, f"task failed: {p.reason}"
    return alert(state, cause, state.tasks[p.task_id], kind, text)


def noted(state: State, p: MonitorAlert) -> State:
    """An alert seen (this Monitor's own, read back): never raised again for that round."""
    if p.task_id not in state.tasks:
        return state
    track = state.tasks[p.task_id]
    alerted = track.alerted | {(p.kind.value, p.attempt, p.round)}
    return put(state, replace(track, alerted=alerted))
