"""Monitor per area: follows the tasks, triggers QA and DevOps, verifies, alerts (docs/flow.md).

A process: each task is `Waiting` for its trigger, `Running` (deadline from the trigger,
lease from the latest beat), `Done` for its round, `Verified` or `Cancelled`. The entry
point the shell runs: `decide` and `evolve` hand each kind of event to the rule module
beside this one (tasks, clocks, triggers, verdicts, alerts, budgets, approvals, controls
and pauses; the types in track and state, shared questions in reading).
"""

from __future__ import annotations

from orchestrator.core import events as ev
from orchestrator.core.envelope import Actor, Event, Tick
from services.monitor import alerts, approvals, budgets, clocks, controls, triggers, verdicts
from services.monitor.reading import dev_done, late, live, mine, reassigned
from services.monitor.state import State, planned
from services.monitor.tasks import evolve_task

interests = frozenset({
    ev.ModulePlanned, ev.BacklogCreated, ev.TaskAssigned, ev.TaskStarted, ev.TaskHeartbeat,
    ev.QaRequested, ev.DevopsRequested, ev.TaskReworkRequested, ev.TaskCompleted, ev.TaskFailed,
    ev.QaPassed, ev.QaFailed, ev.DevopsFailed, ev.SmokePassed, ev.SmokeFailed, ev.TaskVerified,
    ev.TaskCancelled, ev.MonitorAlert, ev.ModuleCompleted, ev.ModuleBlocked, ev.ProjectPaused,
    ev.ProjectResumed, ev.ProjectCancelled, ev.TaskUsage, ev.ApprovalRequested, ev.ApprovalGranted,
    ev.ApprovalRejected, ev.ModulePaused, ev.ModuleResumed,
})


def initial_state(me: Actor) -> State:
    return State(me)


def is_terminal(state: State) -> bool:
    """Every module this Monitor follows has ended, or the project was cancelled."""
    return state.cancelled or (bool(state.areas) and set(state.areas) <= state.ended)


def due(state: State) -> int | None:
    """The earliest lease or deadline not yet alerted: when a tick may raise an alert."""
    if state.paused_at is not None:
        return None  # paused: no clock runs
    return min([*clocks.due_times(state), *approvals.due_times(state)], default=None)


def decide(state: State, event: Event | Tick) -> list[Event]:
    match event:
        case Tick() if state.paused_at is not None:
            return []
        case Tick(now=now):
            return [*clocks.timers(state, now), *approvals.timers(state, now)]
        case Event(payload=ev.TaskUsage() as p):  # every area's: the project budget sums them
            return budgets.alerts(state, event, p)
        case Event() if not mine(state, event):
            return []
        case Event(payload=ev.TaskAssigned() as p) if reassigned(state, p) or late(state, p):
            return triggers.retrigger(state, event, p)
        case Event(payload=ev.TaskCompleted(role=ev.Role.DEV) as p) if live(state, p):
            return triggers.qa_after(state, event, p)
        case Event(payload=ev.QaPassed() | ev.QaFailed() as p) if live(state, p) and dev_done(state, p):
            return verdicts.judged(state, event, p)
        case Event(payload=ev.SmokePassed(scope=ev.Scope.TOTAL) as p) if live(state, p):
            return verdicts.smoke_passed(state, event, p)
        case Event(payload=ev.DevopsFailed() | ev.SmokeFailed() | ev.TaskFailed() as p) if live(state, p):
            return alerts.failed(state, event, p)
        case _:
            return []


def evolve(state: State, event: Event) -> State:
    t = event.occurred_at
    match event.payload:
        case ev.ProjectPaused() | ev.ProjectResumed() | ev.ProjectCancelled() as p:
            return controls.project(state, p, t)
        case ev.TaskUsage() as p:  # every area's, for the project budget
            return budgets.recorded(state, p)
        case _ if not mine(state, event):
            return state
        case ev.ModulePaused() | ev.ModuleResumed() as p:
            return controls.module(state, p, t)
        case ev.ModuleCompleted() | ev.ModuleBlocked() as p:
            return controls.ended(state, p.area)
        case ev.ApprovalRequested() as p:
            return approvals.asked(state, event, p)
        case ev.ApprovalGranted() | ev.ApprovalRejected() as p:
            return approvals.answered(state, p, t)
        case ev.ModulePlanned() | ev.BacklogCreated() as p:
            return planned(state, p)
        case ev.MonitorAlert() as p:
            return alerts.noted(state, p)
        case _:
            return evolve_task(state, event, t)
