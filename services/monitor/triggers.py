"""Triggers: what the Monitor asks for next. QA once a dev task completes, DevOps once
requirements are verified (partial, then total), and again on a re-assignment.

Each DevOps request of an attempt is a new round, so partial and total never share a claim.
"""

from __future__ import annotations

from dataclasses import replace

from orchestrator.core.envelope import Event, follow
from orchestrator.core.events import DevopsRequested, QaRequested, Role, Scope, TaskAssigned, TaskCompleted
from services.monitor.reading import dev_of, qa_of, verified
from services.monitor.state import State, area_of, area_tasks
from services.monitor.track import Cancelled, Done, Track, Verified, Waiting


def qa_after(state: State, event: Event, p: TaskCompleted) -> list[Event]:
    """A dev task completed its round: its paired QA task is asked to test that round."""
    qa = qa_of(state, state.tasks[p.task_id])
    if qa is None or isinstance(qa.phase, Verified | Cancelled):
        return []
    return [_qa_request(state, event, qa, state.tasks[p.task_id])]


def retrigger(state: State, event: Event, p: TaskAssigned) -> list[Event]:
    """A (re-)assignment sends the trigger the attempt needs, when it is already due."""
    old = state.tasks.get(p.task_id)
    track = Track(spec=p) if old is None else replace(old, spec=p, phase=Waiting())
    match p.role:
        case Role.QA:
            dev = dev_of(state, track)
            done = dev is not None and isinstance(dev.phase, Done) and dev.phase.ok
            return [_qa_request(state, event, track, dev)] if dev and done else []
        case Role.DEVOPS:
            reqs = area_of(state, p.area).requirement_ids
            if reqs and set(reqs) <= verified(state, p.area):
                return [_devops_request(state, event, track, Scope.TOTAL, reqs)]
            return []
        case _:
            return []


def deploy_after(state: State, event: Event, dev: Track) -> list[Event]:
    """After a verification: the first of several requirements deploys partially, the last totally."""
    area = dev.spec.area
    devops = next((t for t in area_tasks(state, area) if t.spec.role == Role.DEVOPS), None)
    if devops is None or isinstance(devops.phase, Verified | Cancelled):
        return []
    before = verified(state, area)
    after = before | set(dev.spec.requirement_ids)
    reqs = area_of(state, area).requirement_ids or tuple(sorted(after))
    if set(reqs) <= after:
        return [_devops_request(state, event, devops, Scope.TOTAL, reqs)]
    if not before and len(reqs) > 1:
        partial = tuple(r for r in reqs if r in after)
        return [_devops_request(state, event, devops, Scope.PARTIAL, partial)]
    return []


def _qa_request(state: State, cause: Event, qa: Track, dev: Track) -> Event:
    request = QaRequested(qa.spec.task_id, qa.spec.area, dev.spec.task_id,
                          dev.spec.requirement_ids, qa.spec.attempt, dev.round)
    return follow(cause, request, state.me, qa.spec.task_id, qa.spec.attempt, dev.round)


def _devops_request(
    state: State, cause: Event, devops: Track, scope: Scope, reqs: tuple[str, ...]
) -> Event:
    # Each request of an attempt is a new round: partial then total never share a claim.
    round = 0 if isinstance(devops.phase, Waiting) else devops.round + 1
    request = DevopsRequested(devops.spec.task_id, devops.spec.area, scope, reqs,
                              devops.spec.attempt, round)
    return follow(cause, request, state.me, devops.spec.task_id, scope.value, round)
