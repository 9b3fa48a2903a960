"""A task handed to another executor while its claim runs: the one operator's word that
claims anew instead of releasing a claim that waited.

The superseding claim is of the same attempt in a new round, so the old run's late result
names a claim that is no longer live and changes nothing.
"""

from __future__ import annotations

from orchestrator.core.envelope import Event, follow
from orchestrator.core.events import Role, TaskReassigned, TaskStarted
from orchestrator.core.worker import State
from orchestrator.core.worker.tasks import busy


def hand_off(state: State, event: Event, p: TaskReassigned) -> list[Event]:
    """A running claim handed to another executor: a new claim of the same attempt, in a
    new round, supersedes it; the old run is stopped and its late result matches nothing.

    A QA claim is not re-claimed: its round is the dev task's, which its result must name;
    the new executor takes its next claim. An idle task's next claim uses it anyway.
    """
    task = state.tasks.get(p.task_id)
    if task is None or not busy(task, task.spec.attempt) or p.role is Role.QA:
        return []
    if p.executor == task.spec.executor:
        return []  # a hand-off while paused re-claims too: the work was running, it is not new
    spec, round = task.spec, task.max_round + 1
    started = TaskStarted(spec.task_id, spec.area, state.me.role, spec.attempt, round, spec.lease_ms)
    return [follow(event, started, state.me, spec.task_id, spec.attempt, round)]
