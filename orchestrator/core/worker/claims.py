"""When a trigger claims: `task.started`, the request to open a gate first, or nothing.

A claim waits while the project (or its module) is paused and while an earlier claim of
the same attempt still runs; a gate of the policy holds it until `approval.granted`.
"""

from __future__ import annotations

from orchestrator.core.envelope import Event, follow
from orchestrator.core.events import (
    ApprovalRequested,
    DevopsRequested,
    QaRequested,
    TaskAssigned,
    TaskReworkRequested,
    TaskStarted,
)
from orchestrator.core.worker import State, Task
from orchestrator.core.worker.gates import approval_id, gates_of
from orchestrator.core.worker.tasks import busy, claimable, held, key_of, task_id_of
from orchestrator.core.worker.transitions import Trigger


def claim(
    state: State, trigger: Event, task_id: str, attempt: int, round: int, lease_ms: int
) -> list[Event]:
    """`task.started` for (attempt, round) of `task_id`, or nothing if it is not claimable now.

    A later round of an attempt whose claim still runs waits for it (`next_claim`): a
    partial deployment is carried out before the total one, never dropped mid-way.
    """
    task = state.tasks.get(task_id)
    spec = task.spec if task is not None else trigger.payload
    if state.paused or state.cancelled or held(state, getattr(spec, "area", None)):
        return []  # the trigger waits among the task's triggers until the project (module) resumes
    if task is not None and (not claimable(task, attempt, round) or busy(task, attempt)):
        return []
    if not isinstance(spec, TaskAssigned):
        return []
    return claim_or_ask(state, task or Task(spec), trigger, attempt, round)


def claim_or_ask(state: State, task: Task, trigger: Event, attempt: int, round: int) -> list[Event]:
    """The claim, or while a gate of the policy holds it, the request to open that gate.

    The trigger stays among the task's triggers: `approval.granted` claims it then.
    """
    spec = task.spec
    closed = [g for g in gates_of(spec, trigger) if task.gates.get(g.before) != "granted"]
    if not closed:
        started = TaskStarted(spec.task_id, spec.area, state.me.role, attempt, round, spec.lease_ms)
        return [follow(trigger, started, state.me, spec.task_id, attempt, round)]
    gate = closed[0]
    if gate.before in task.gates:
        return []  # requested and unanswered, or rejected: the work waits or never comes
    aid = approval_id(trigger.project_id, spec.task_id, gate.before)
    asked = ApprovalRequested(aid, spec.task_id, spec.area, state.me.role, gate.before, attempt,
                              round, gate.deadline_ms)
    return [follow(trigger, asked, state.me, aid)]


def next_claim(state: State, started: Event, trigger: type[Trigger]) -> list[Event]:
    """After the result of `started`: the claim of the newest trigger that waited for it."""
    task = state.tasks.get(task_id_of(started))
    attempt, round = key_of(started)
    if task is None or state.paused or held(state, task.spec.area):
        return []
    waiting = [t for t in task.triggers.values() if isinstance(t.payload, trigger)
               and t.payload.attempt == attempt and t.payload.round > round
               and claimable(task, t.payload.attempt, t.payload.round)]
    if not waiting:
        return []
    newest = max(waiting, key=lambda t: getattr(t.payload, "round", 0))
    p = newest.payload
    assert isinstance(p, TaskReworkRequested | QaRequested | DevopsRequested)
    return claim_or_ask(state, task, newest, p.attempt, p.round)
