"""The questions every lease rule asks of a worker's tasks, and the one way to store a task.

Shared by the fold, the claims and the controls, so each rule reads a task the same way:
whose it is, whether a module is held, whether an (attempt, round) may still be claimed.
"""

from __future__ import annotations

from dataclasses import replace

from orchestrator.core.envelope import Event
from orchestrator.core.events import TaskStarted
from orchestrator.core.worker import Cancelled, Claimed, Key, State, Task


def mine(state: State, event: Event) -> bool:
    """Not another area's or another role's task (the shell skips those by header too)."""
    p = event.payload
    return in_area(state, getattr(p, "area", None)) and getattr(p, "role", state.me.role) == state.me.role


def in_area(state: State, area: str | None) -> bool:
    return state.me.area is None or area is None or state.me.area == area


def held(state: State, area: str | None) -> bool:
    """The module of `area` is paused on its own: its triggers wait, as a paused project's do."""
    return area is not None and area in state.paused_areas


def claimable(task: Task, attempt: int, round: int) -> bool:
    if isinstance(task.phase, Cancelled) or attempt < task.spec.attempt:
        return False
    return task.last is None or (attempt, round) > task.last


def busy(task: Task, attempt: int) -> bool:
    return isinstance(task.phase, Claimed) and key_of(task.phase.started)[0] == attempt


def next_round(state: State, task_id: str) -> int:
    """Rounds keep counting across attempts, so a re-run never reuses a finished key."""
    task = state.tasks.get(task_id)
    return 0 if task is None else task.max_round + 1


def key_of(started: Event) -> Key:
    p = started.payload
    assert isinstance(p, TaskStarted)
    return (p.attempt, p.round)


def task_id_of(started: Event) -> str:
    return getattr(started.payload, "task_id", "")


def with_trigger(task: Task, trigger: Event) -> dict[str, Event]:
    return {**task.triggers, trigger.event_id: trigger}


def put(state: State, task: Task) -> State:
    return replace(state, tasks={**state.tasks, task.spec.task_id: task})
