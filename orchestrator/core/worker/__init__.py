"""The lease protocol the dev, qa and devops workers share: pure, per project. Its state.

A claim is `task.started` for one (attempt, round) of a task. Claims only move forward:
a trigger for an older attempt, for an (attempt, round) already claimed or finished, or
for a cancelled task claims nothing, so a late or replayed trigger never runs twice and
a zombie's completion of a superseded claim is never applied. Each role's decider keeps
this `State`, names the trigger and result types of its role, and adds its trigger rules
and its `finish`. A project's tasks are dropped when their module ends.

The state lives here, in the package itself, because the changelog's format digest names
the module of every state type (statecodec): kept here, the format did not change when
the rules were split into the modules beside it (fold, claims, controls, runs, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator.core.envelope import Actor, Event
from orchestrator.core.events import TaskAssigned

Key = tuple[int, int]  # (attempt, round)


@dataclass(frozen=True)
class Open:
    """No live claim: never claimed, or waiting for the next trigger."""


@dataclass(frozen=True)
class Claimed:
    started: Event
    trigger: Event | None  # what caused the claim: carries scope, dev task, requirements


@dataclass(frozen=True)
class Finished:
    started: Event


@dataclass(frozen=True)
class Cancelled:
    """Terminal: the PM cancelled the task."""


Phase = Open | Claimed | Finished | Cancelled


@dataclass(frozen=True)
class Task:
    spec: TaskAssigned  # the latest assignment: executor, requirements, lease
    phase: Phase = Open()
    last: Key | None = None  # the latest claim
    max_round: int = -1  # highest round claimed or requested, over every attempt
    triggers: dict[str, Event] = field(default_factory=dict)  # by id, awaiting their claim
    gates: dict[str, str] = field(default_factory=dict)  # gate -> requested | granted | rejected


@dataclass(frozen=True)
class State:
    me: Actor
    tasks: dict[str, Task] = field(default_factory=dict)
    ended: frozenset[str] = frozenset()  # areas whose module completed or was blocked
    paused: bool = False  # the project is paused: triggers wait, nothing new is claimed
    paused_areas: frozenset[str] = frozenset()  # modules paused on their own: the same, per area
    cancelled: bool = False  # the project is cancelled: every run stops, nothing is left


def initial_state(me: Actor) -> State:
    return State(me)


def is_terminal(state: State) -> bool:
    """Every module this worker served has ended, or the project was cancelled."""
    return state.cancelled or (bool(state.ended) and not state.tasks)
