"""The Monitor's state of one project: the areas it follows, their tasks, what each run
spent, the open approvals and what is paused.

One frozen value every rule module folds into; the accessors here are its only writers
of areas and tasks, so a change of shape touches one file.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from orchestrator.core.envelope import Actor, Event
from orchestrator.core.events import ApprovalRequested, BacklogCreated, Budgets, ModulePlanned, Policy, Role
from services.monitor.track import Track


@dataclass(frozen=True)
class Area:
    max_attempts: int = Policy().max_attempts
    requirement_ids: tuple[str, ...] = ()
    budgets: Budgets = field(default_factory=Budgets)


@dataclass(frozen=True)
class Spent:
    tokens: int = 0
    cost: float = 0.0
    seconds: float = 0.0

    def __add__(self, other: Spent) -> Spent:
        return Spent(self.tokens + other.tokens, self.cost + other.cost, self.seconds + other.seconds)


Run = tuple[str, str, int, int]  # (area, task id, attempt, round)


@dataclass(frozen=True)
class Asked:
    """An `approval.requested` not answered yet: its deadline counts from `since`."""

    since: int
    cause: Event
    request: ApprovalRequested


@dataclass(frozen=True)
class State:
    me: Actor
    areas: dict[str, Area] = field(default_factory=dict)
    tasks: dict[str, Track] = field(default_factory=dict)
    spent: dict[Run, Spent] = field(default_factory=dict)  # what each run reported
    ended: frozenset[str] = frozenset()  # areas whose module completed or was blocked
    paused_at: int | None = None  # the project is paused since: every clock stands still
    cancelled: bool = False
    approvals: dict[str, Asked] = field(default_factory=dict)  # unanswered, by approval id
    # modules paused on their own: since when each one's clocks stand still
    paused_areas: dict[str, int] = field(default_factory=dict)


def planned(state: State, p: ModulePlanned | BacklogCreated) -> State:
    """The module's policy and requirements, as its plan (then its backlog) states them."""
    if isinstance(p, ModulePlanned):
        reqs = tuple(r.id for r in p.requirements)
        return set_area(state, p.area, Area(p.policy.max_attempts, reqs, p.policy.budgets))
    reqs = tuple(dict.fromkeys(r for b in p.tasks if b.role == Role.DEV for r in b.requirement_ids))
    return set_area(state, p.area, replace(area_of(state, p.area), requirement_ids=reqs))


def area_of(state: State, area: str) -> Area:
    return state.areas.get(area, Area())


def area_tasks(state: State, area: str) -> list[Track]:
    return [t for t in state.tasks.values() if t.spec.area == area]


def set_area(state: State, area: str, value: Area) -> State:
    return replace(state, areas={**state.areas, area: value})


def put(state: State, track: Track) -> State:
    return replace(state, tasks={**state.tasks, track.spec.task_id: track})
