"""Dev worker: claims its assignments and reworks, reports completion or failure (docs/flow.md).

Who assigns and re-assigns (attempt + 1) is the PM (services/pm/triage.py, `triage`,
`reassign`); rework rounds and the QA request after `task.completed` are the Monitor's
(services/monitor/decider.py). Claims and leases: orchestrator/core/worker/.
"""

from __future__ import annotations

from orchestrator.core.envelope import Event, Tick, follow
from orchestrator.core.events import (
    ApprovalGranted,
    ModuleResumed,
    ProjectResumed,
    Role,
    TaskAssigned,
    TaskCompleted,
    TaskFailed,
    TaskReassigned,
    TaskReworkRequested,
    TaskStarted,
)
from orchestrator.core.worker import State, claims, controls, fold, runs, tasks

# the lease protocol the three workers share, re-exported as this actor's own
from orchestrator.core.worker import initial_state as initial_state
from orchestrator.core.worker import is_terminal as is_terminal
from orchestrator.core.worker.runs import unfinished as resume  # noqa: F401 (the Worker protocol's resume)
from orchestrator.core.worker.runs import work_of as work_of
from orchestrator.core.worker.work import Outcome

TRIGGER = TaskReworkRequested
RESULTS = (TaskCompleted, TaskFailed)
interests = fold.interests(TRIGGER, RESULTS)
CLAIMS = (TaskAssigned, TaskReworkRequested)  # what claims work for this role: re-claimed on resume or grant


def evolve(state: State, event: Event) -> State:
    return fold.evolve(state, event, TRIGGER, RESULTS)


def decide(state: State, event: Event | Tick) -> list[Event]:
    if isinstance(event, Event) and not tasks.mine(state, event):
        return []
    match event:
        case Event(payload=ProjectResumed() | ModuleResumed() | ApprovalGranted() | TaskReassigned()):
            return controls.operated(state, event, CLAIMS)
        case Event(payload=TaskAssigned(role=Role.DEV) as p) if _new_attempt(state, p):
            round = tasks.next_round(state, p.task_id)
            return claims.claim(state, event, p.task_id, p.attempt, round, p.lease_ms)
        case Event(payload=TaskReworkRequested() as p) if p.task_id in state.tasks:
            lease = state.tasks[p.task_id].spec.lease_ms
            return claims.claim(state, event, p.task_id, p.attempt, p.round, lease)
        case _:
            return []


def _new_attempt(state: State, p: TaskAssigned) -> bool:
    """An assignment triggers a claim once: for a task or an attempt not seen before."""
    task = state.tasks.get(p.task_id)
    return tasks.in_area(state, p.area) and (task is None or p.attempt > task.spec.attempt)


def finish(state: State, started: Event, outcome: Outcome) -> list[Event]:
    match started.payload:
        case TaskStarted() as p if runs.live(state, started):
            done: TaskCompleted | TaskFailed = (
                TaskCompleted(p.task_id, p.area, p.role, p.attempt, p.round, outcome.summary)
                if outcome.ok
                else TaskFailed(p.task_id, p.area, p.role, p.attempt, p.round, outcome.summary)
            )
            return [follow(started, done, state.me, attachments=outcome.attachments),
                    *claims.next_claim(state, started, TRIGGER)]
        case _:
            return []
