"""PM per area: backlog, assignments, alert triage, module outcome (docs/flow.md).

A process: it hears status only from the Monitor (alerts, verifications) and rulings
from the CTO. Each module is `Running`, then `Done` or `Blocked` (terminal). The rules
live beside this entry point: the backlog and its assignments (services/pm/planning.py,
services/pm/assignment.py), alerts and rulings (services/pm/triage.py), verification and
completion (services/pm/verification.py), early ends (services/pm/controls.py), the state
(services/pm/state.py); here, the fold and which rule each event meets.
"""

from __future__ import annotations

import dataclasses

from orchestrator.core.envelope import Actor, Event, Tick
from orchestrator.core.events import (
    AlertKind,
    ApprovalRejected,
    CtoDecided,
    ModuleBlocked,
    ModuleCancelled,
    ModuleCompleted,
    ModulePlanned,
    MonitorAlert,
    PmEscalated,
    ProjectCancelled,
    TaskAssigned,
    TaskCancelled,
    TaskReassigned,
    TaskVerified,
)
from services.pm import controls, planning, triage, verification
from services.pm.state import (
    Blocked,
    Done,
    ModuleState,
    Running,
    State,
    Status,
    Stopped,
    Task,
    is_open,
    mine,
    put,
    put_task,
    running,
    update,
)

interests = frozenset({
    ModulePlanned, TaskAssigned, PmEscalated, TaskVerified, TaskCancelled, ModuleCompleted,
    ModuleBlocked, MonitorAlert, CtoDecided, ProjectCancelled, ApprovalRejected, TaskReassigned,
    ModuleCancelled,
})


def initial_state(me: Actor) -> State:
    return State(me)


def is_terminal(state: State) -> bool:
    """Every module this PM runs is done or blocked."""
    return bool(state.modules) and not any(isinstance(m, Running) for m in state.modules.values())


def evolve(state: State, event: Event) -> State:
    match event.payload:
        case ModulePlanned(area=area) as plan if mine(state, area) and area not in state.modules:
            return put(state, area, Running(plan))
        case TaskAssigned(area=area) as assigned if (module := running(state, area)):
            return put_task(state, module, Task(assigned))
        case PmEscalated(area=area, task_id=tid) if (module := running(state, area)):
            return update(state, module, tid, escalated=True)
        case TaskVerified(area=area, task_id=tid) if (module := running(state, area)):
            return verification.verified(state, module, tid)
        case TaskReassigned(area=area, task_id=tid) as p if (
            (module := running(state, area)) and is_open(task := module.tasks.get(tid))
        ):
            assert task is not None
            moved = dataclasses.replace(task.assignment, executor=p.executor)  # later attempts too
            return put_task(state, module, dataclasses.replace(task, assignment=moved))
        case TaskCancelled(area=area, task_id=tid) if (module := running(state, area)):
            return update(state, module, tid, status=Status.CANCELLED)
        case ModuleCompleted(area=area) if running(state, area):
            return put(state, area, Done(area))
        case ModuleBlocked(area=area) if running(state, area):
            return put(state, area, Blocked(area))
        case ProjectCancelled():
            stopped: dict[str, ModuleState] = {
                a: Stopped(a) if isinstance(m, Running) else m for a, m in state.modules.items()}
            return dataclasses.replace(state, modules=stopped)
        case _:
            return state


def decide(state: State, event: Event | Tick) -> list[Event]:
    match event:
        case Event(payload=ModulePlanned(area=area) as plan) if (
            mine(state, area) and area not in state.modules
        ):
            return planning.planned(state.me, event, plan)
        case Event(payload=MonitorAlert(kind=AlertKind.APPROVAL_OVERDUE)):
            return []  # a person's to answer: another attempt would ask the same question
        case Event(payload=MonitorAlert(area=area) as alert) if (module := running(state, area)):
            return triage.triage(state.me, event, module, alert)
        case Event(payload=ApprovalRejected(area=area) as no) if (module := running(state, area)):
            return controls.rejected(state.me, event, module, no)
        case Event(payload=CtoDecided(area=area) as ruling) if (module := running(state, area)):
            return triage.apply(state.me, event, module, ruling)
        case Event(payload=ProjectCancelled(reason=reason)):
            return controls.cancel_all(state, event, reason)
        case Event(payload=ModuleCancelled(area=area, reason=reason)) if (module := running(state, area)):
            return controls.module_cancelled(state.me, event, module, reason)
        case Event(payload=TaskVerified(area=area, task_id=tid)) if (
            (module := running(state, area)) and is_open(module.tasks.get(tid))
        ):
            return verification.completed(state.me, event, running(evolve(state, event), area))
        case _:
            return []
