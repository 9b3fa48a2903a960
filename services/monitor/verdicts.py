"""Verdicts: QA's and the smoke tests' results verify a task, or send the dev task back
for rework (QA rework), round after round.

QA failures of a dev task count over every attempt; at `max_attempts` the Monitor alerts
(`repeated_qa_failure`, critical) instead of asking for one more round.
"""

from __future__ import annotations

from dataclasses import replace

from orchestrator.core.envelope import Event, follow
from orchestrator.core.events import (
    AlertKind,
    QaFailed,
    QaPassed,
    Role,
    SmokePassed,
    TaskReworkRequested,
    TaskVerified,
)
from services.monitor.alerts import alert
from services.monitor.state import State, area_of, put
from services.monitor.track import Done
from services.monitor.triggers import deploy_after


def judged(state: State, event: Event, p: QaPassed | QaFailed) -> list[Event]:
    """Passed: the dev task is verified, then DevOps may deploy. Failed: rework, or an alert."""
    dev = state.tasks[p.dev_task_id]
    if isinstance(p, QaPassed):
        verified = TaskVerified(dev.spec.task_id, p.area, Role.DEV, dev.spec.requirement_ids)
        return [follow(event, verified, state.me), *deploy_after(state, event, dev)]
    if dev.qa_failures + 1 >= area_of(state, p.area).max_attempts:
        text = f"QA failed {dev.qa_failures + 1} times: {', '.join(p.failures)}"
        return alert(state, event, dev, AlertKind.REPEATED_QA_FAILURE, text)
    reason = "QA failed: " + ", ".join(p.failures)
    rework = TaskReworkRequested(p.dev_task_id, p.area, dev.spec.attempt, p.round + 1, reason)
    return [follow(event, rework, state.me)]


def smoke_passed(state: State, event: Event, p: SmokePassed) -> list[Event]:
    """The total deploy's smoke tests passed: the DevOps task is verified, for every requirement."""
    track = state.tasks[p.task_id]
    reqs = area_of(state, p.area).requirement_ids or track.spec.requirement_ids
    return [follow(event, TaskVerified(p.task_id, p.area, Role.DEVOPS, reqs), state.me)]


def counted(state: State, p: QaPassed | QaFailed) -> State:
    """The QA task's round is done; a failure counts against its dev task."""
    state = put(state, replace(state.tasks[p.task_id], phase=Done(isinstance(p, QaPassed))))
    if isinstance(p, QaPassed):
        return state
    dev = state.tasks[p.dev_task_id]
    return put(state, replace(dev, qa_failures=dev.qa_failures + 1))
