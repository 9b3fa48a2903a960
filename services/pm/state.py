"""The PM's state per project: each module `Running`, then `Done`, `Blocked` or `Stopped`.

Kept apart from the rules so planning, triage and the decider read and update a module's
tasks the same way (`running`, `put_task`, `update`), and only an open task moves.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum

from orchestrator.core.envelope import Actor
from orchestrator.core.events import ModulePlanned, TaskAssigned


class Status(StrEnum):
    ASSIGNED = "assigned"
    VERIFIED = "verified"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Task:
    assignment: TaskAssigned  # the current attempt
    status: Status = Status.ASSIGNED
    escalated: bool = False  # this attempt awaits the CTO's ruling


@dataclass(frozen=True)
class Running:
    plan: ModulePlanned
    tasks: dict[str, Task] = field(default_factory=dict)  # backlog order


@dataclass(frozen=True)
class Done:
    area: str


@dataclass(frozen=True)
class Blocked:
    area: str


@dataclass(frozen=True)
class Stopped:
    """The project was cancelled: the module's open tasks were cancelled with it."""

    area: str


ModuleState = Running | Done | Blocked | Stopped


@dataclass(frozen=True)
class State:
    me: Actor
    modules: dict[str, ModuleState] = field(default_factory=dict)


def is_open(task: Task | None) -> bool:
    return task is not None and task.status is Status.ASSIGNED


def mine(state: State, area: str) -> bool:
    return state.me.area is None or state.me.area == area


def running(state: State, area: str) -> Running | None:
    module = state.modules.get(area) if mine(state, area) else None
    return module if isinstance(module, Running) else None


def put(state: State, area: str, module: ModuleState) -> State:
    return dataclasses.replace(state, modules={**state.modules, area: module})


def put_task(state: State, module: Running, task: Task) -> State:
    tasks = {**module.tasks, task.assignment.task_id: task}
    return put(state, module.plan.area, dataclasses.replace(module, tasks=tasks))


def update(
    state: State, module: Running, tid: str, *,
    status: Status | None = None, escalated: bool | None = None,
) -> State:
    """An open task's status or escalation changed; a closed task stays as it ended."""
    task = module.tasks.get(tid)
    if task is None or task.status is not Status.ASSIGNED:
        return state
    escalated = task.escalated if escalated is None else escalated
    return put_task(state, module, Task(task.assignment, status or task.status, escalated))
