"""The fold every worker shares, by event kind: the project's and its modules' lifecycle
(lifecycle.py), assignments (here), and what an event about one task does to that task
(transitions.py).

A role's decider calls `evolve` with its trigger and result types; `interests` is what
the shell lets through to it.
"""

from __future__ import annotations

from dataclasses import replace

from orchestrator.core.envelope import Event
from orchestrator.core.events import (
    ApprovalGranted,
    ApprovalRejected,
    ApprovalRequested,
    TaskAssigned,
    TaskCancelled,
    TaskReassigned,
    TaskStarted,
)
from orchestrator.core.worker import Cancelled, State, Task
from orchestrator.core.worker.lifecycle import LIFECYCLE, lifecycle
from orchestrator.core.worker.tasks import mine, put, with_trigger
from orchestrator.core.worker.transitions import Result, Trigger, of_task


def interests(trigger: type[Trigger], results: tuple[type[Result], ...]) -> frozenset[type]:
    """What a worker of a role folds: its assignments, triggers, claims and results."""
    return frozenset({TaskAssigned, trigger, TaskStarted, TaskCancelled, *results, *LIFECYCLE,
                      ApprovalRequested, ApprovalGranted, ApprovalRejected, TaskReassigned})


def evolve(state: State, event: Event, trigger: type[Trigger], results: tuple[type[Result], ...]) -> State:
    """The fold every worker shares; `trigger` and `results` are its role's event types.

    An event that changes nothing returns `state` itself (the shell then forgets it).
    """
    if not mine(state, event):
        return state
    p = event.payload
    match p:
        case _ if isinstance(p, LIFECYCLE):
            return lifecycle(state, p)
        case TaskAssigned():
            return _assigned(state, event, p)
        case _ if (task := state.tasks.get(getattr(p, "task_id", ""))) is not None:
            after = of_task(task, event, trigger, results)
            return state if after is None else put(state, after)
        case _:
            return state


def _assigned(state: State, event: Event, p: TaskAssigned) -> State:
    """A new task, or a newer attempt of a live one (its assignment waits to claim)."""
    task = state.tasks.get(p.task_id)
    if task is None and p.area in state.ended:
        return state
    if task is None:
        return put(state, Task(p, triggers={event.event_id: event}))
    if p.attempt > task.spec.attempt and not isinstance(task.phase, Cancelled):
        return put(state, replace(task, spec=p, triggers=with_trigger(task, event)))
    return state
