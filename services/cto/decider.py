"""CTO: charters a project, plans one module per PM, staffs and releases each area's roles
(the org chart), rules on escalations (docs/flow.md).

Phases: `Unplanned` -> `Delivering` -> `Completed`. A blocked project stays `Delivering`
(flag `blocked`) so that escalations still in flight get an answer. What escalates is the
PM's (services/pm/triage.py, `triage`); budget alerts are the Monitor's (`_budget_alerts`).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

from orchestrator.core.envelope import Actor, Attachment, Event, Tick, follow
from orchestrator.core.events import (
    AlertKind,
    CharterCreated,
    CtoDecided,
    Decision,
    ModuleBlocked,
    ModuleCompleted,
    ModulePlanned,
    PmEscalated,
    ProjectBlocked,
    ProjectCancelled,
    ProjectCompleted,
    ProjectCreated,
    Role,
    RoleHired,
    RoleReleased,
)


@dataclass(frozen=True)
class Unplanned:
    me: Actor


@dataclass(frozen=True)
class Delivering:
    me: Actor
    modules: tuple[str, ...]
    completed: frozenset[str] = frozenset()
    escalations: dict[str, int] = field(default_factory=dict)  # area -> escalations seen
    answered: frozenset[str] = frozenset()  # ids of escalations already decided
    blocked: bool = False
    stopped: frozenset[str] = frozenset()  # modules blocked


@dataclass(frozen=True)
class Completed:
    me: Actor
    modules: tuple[str, ...]


@dataclass(frozen=True)
class Cancelled:
    """An operator cancelled the project: no module can complete it any more."""

    me: Actor


State = Unplanned | Delivering | Completed | Cancelled


interests = frozenset({
    ProjectCreated, ModuleCompleted, ModuleBlocked, PmEscalated, CtoDecided, ProjectBlocked,
    ProjectCompleted, ProjectCancelled,
})


def initial_state(me: Actor) -> State:
    return Unplanned(me)


def is_terminal(state: State) -> bool:
    """Completed, or blocked with every module ended (no escalation can still come)."""
    match state:
        case Completed() | Cancelled():
            return True
        case Delivering(blocked=True) as d:
            return set(d.modules) <= d.completed | d.stopped
        case _:
            return False


def evolve(state: State, event: Event) -> State:
    match state, event.payload:
        case Unplanned(), ProjectCreated(modules=modules):
            return Delivering(state.me, tuple(m.area for m in modules))
        case Delivering(), ModuleCompleted(area=area):
            return dataclasses.replace(state, completed=state.completed | {area})
        case Delivering(), ModuleBlocked(area=area):
            return dataclasses.replace(state, stopped=state.stopped | {area})
        case Delivering(), PmEscalated(area=area):
            count = state.escalations.get(area, 0) + 1
            return dataclasses.replace(state, escalations={**state.escalations, area: count})
        case Delivering(), CtoDecided() if event.causation_id is not None:
            return dataclasses.replace(state, answered=state.answered | {event.causation_id})
        case Delivering(), ProjectBlocked():
            return dataclasses.replace(state, blocked=True)
        case Delivering(), ProjectCompleted():
            return Completed(state.me, state.modules)
        case Unplanned() | Delivering(), ProjectCancelled():
            return Cancelled(state.me)
        case _:
            return state


def decide(state: State, event: Event | Tick) -> list[Event]:
    match state, event:
        case Unplanned(), Event(payload=ProjectCreated() as project):
            return _plan(state.me, event, project)
        case Delivering(), Event(payload=ModuleCompleted(area=area)):
            done = state.completed | {area}
            out = _release(state, event, (area,), "module completed")
            if state.blocked or area in state.completed or not set(state.modules) <= done:
                return out
            return [*out, follow(event, ProjectCompleted(state.modules), state.me)]
        case Delivering(), Event(payload=PmEscalated() as escalation):
            if event.event_id in state.answered:
                return []
            return [follow(event, _ruling(state, escalation), state.me)]
        case Delivering(), Event(payload=ModuleBlocked(area=area, reason=reason)):
            out = _release(state, event, (area,), "module blocked")
            if state.blocked:
                return out
            blocked = ProjectBlocked((area,), f"module {area} blocked: {reason}")
            return [*out, follow(event, blocked, state.me)]
        case Delivering(), Event(payload=ProjectCancelled()):
            return _release(state, event, state.modules, "project cancelled")
        case _:
            return []


STAFF = (Role.PM, Role.MONITOR, Role.DEV, Role.QA, Role.DEVOPS)  # who an area's module needs


def staff_name(role: Role, area: str) -> str:
    """The org chart's name for the role serving `area` (`pm-web`, as module.planned says)."""
    return f"{role.value}-{area}"


def _release(state: Delivering, cause: Event, areas: tuple[str, ...], reason: str) -> list[Event]:
    """`role.released` for each role of the areas whose module had not ended yet."""
    ended = state.completed | state.stopped
    return [follow(cause, RoleReleased(role, area, staff_name(role, area), reason), state.me, area,
                   role.value) for area in areas if area not in ended for role in STAFF]


def _ruling(state: Delivering, escalation: PmEscalated) -> CtoDecided:
    """On the escalated alert's `kind` (a field; the reason text is only quoted). An
    escalation written before the field existed has no kind: the general rule applies
    (one more attempt for a module's first escalation, else block), which bounds an old
    budget or repeated-QA escalation to one extra attempt before its next one blocks."""
    area, kind = escalation.area, escalation.kind
    if kind is AlertKind.BUDGET:  # another attempt would only spend more
        detail = escalation.reason.removeprefix(f"{kind.value}: ")  # quoted, never ruled on
        return CtoDecided(escalation.task_id, area, Decision.BLOCK, f"budget exhausted: {detail}")
    if kind is AlertKind.REPEATED_QA_FAILURE:
        decision, why = Decision.BLOCK, "QA keeps failing: the requirement needs a human"
    elif state.escalations.get(area, 0) == 0:
        decision, why = Decision.RETRY, f"first escalation of {area}: one more attempt"
    else:
        decision, why = Decision.BLOCK, f"{area} already had its extra attempt"
    return CtoDecided(escalation.task_id, area, decision, why)


def _plan(me: Actor, cause: Event, project: ProjectCreated) -> list[Event]:
    areas = tuple(m.area for m in project.modules)
    milestones = (*(f"{area} verified and deployed" for area in areas), "project completed")
    charter = Attachment("charter.json", "application/json", _charter(project, milestones))
    out = [follow(cause, CharterCreated(project.name, areas, milestones), me,
                  attachments=(charter,))]
    for module in project.modules:
        executors = tuple(x for x in project.executors if x.area in (None, module.area))
        planned = ModulePlanned(module.area, staff_name(Role.PM, module.area), module.requirements,
                                project.policy, executors)
        out.append(follow(cause, planned, me, module.area))
        out += [follow(cause, RoleHired(role, module.area, staff_name(role, module.area)), me, module.area,
                       role.value) for role in STAFF]
    return out


def _charter(project: ProjectCreated, milestones: tuple[str, ...]) -> bytes:
    charter = {
        "project": project.name,
        "description": project.description,
        "scope": [
            {"area": m.area, "requirements": [dataclasses.asdict(r) for r in m.requirements]}
            for m in project.modules
        ],
        "modules": [{"area": m.area, "pm": staff_name(Role.PM, m.area)} for m in project.modules],
        "milestones": list(milestones),
        "policy": dataclasses.asdict(project.policy),
    }
    return json.dumps(charter, sort_keys=True, indent=2).encode()
