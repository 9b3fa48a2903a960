"""QA worker: claims the Monitor's QA requests, reports pass or failures with a report.

What a verdict leads to is the Monitor's (services/monitor/decider.py, `decide`):
`qa.passed` -> `task.verified` and DevOps requests; `qa.failed` -> `task.rework_requested`,
or `repeated_qa_failure` once `max_attempts` is reached. Claims and leases: orchestrator/core/worker/.
"""

from __future__ import annotations

from orchestrator.core.envelope import Event, Tick, follow
from orchestrator.core.events import (
    ApprovalGranted,
    ModuleResumed,
    ProjectResumed,
    QaFailed,
    QaPassed,
    QaRequested,
    TaskFailed,
    TaskReassigned,
    TaskStarted,
    paired_task,
)
from orchestrator.core.worker import State, claims, controls, fold, runs, tasks

# the lease protocol the three workers share, re-exported as this actor's own
from orchestrator.core.worker import initial_state as initial_state
from orchestrator.core.worker import is_terminal as is_terminal
from orchestrator.core.worker.runs import unfinished as resume  # noqa: F401 (the Worker protocol's resume)
from orchestrator.core.worker.runs import work_of as work_of
from orchestrator.core.worker.work import Outcome

TRIGGER = QaRequested
RESULTS = (QaPassed, QaFailed, TaskFailed)
interests = fold.interests(TRIGGER, RESULTS)
CLAIMS = (QaRequested,)  # what claims work for this role: re-claimed on resume or grant


def evolve(state: State, event: Event) -> State:
    return fold.evolve(state, event, TRIGGER, RESULTS)


def decide(state: State, event: Event | Tick) -> list[Event]:
    if isinstance(event, Event) and not tasks.mine(state, event):
        return []
    match event:
        case Event(payload=ProjectResumed() | ModuleResumed() | ApprovalGranted() | TaskReassigned()):
            return controls.operated(state, event, CLAIMS)
        case Event(payload=QaRequested() as p) if p.task_id in state.tasks:
            lease = state.tasks[p.task_id].spec.lease_ms
            return claims.claim(state, event, p.task_id, p.attempt, p.round, lease)
        case _:
            return []


def finish(state: State, started: Event, outcome: Outcome) -> list[Event]:
    """`qa.passed` / `qa.failed` (report attached), or `task.failed` if the suite could not run."""
    claimed = runs.live(state, started)
    match started.payload:
        case TaskStarted() as p if claimed is not None:
            trigger = claimed.trigger.payload if claimed.trigger else None
            # the dev task it tests: the request names it, else the assignment's pairing
            dev = trigger.dev_task_id if isinstance(trigger, QaRequested) else _dev_of(state, p.task_id)
            result: QaPassed | QaFailed | TaskFailed
            if outcome.ok:
                result = QaPassed(p.task_id, p.area, dev, p.attempt, p.round, outcome.summary)
            elif outcome.failures:
                result = QaFailed(p.task_id, p.area, dev, p.attempt, p.round, outcome.failures)
            else:
                result = TaskFailed(p.task_id, p.area, p.role, p.attempt, p.round, outcome.summary)
            return [follow(started, result, state.me, attachments=outcome.attachments),
                    *claims.next_claim(state, started, TRIGGER)]
        case _:
            return []


def _dev_of(state: State, qa_task_id: str) -> str:
    task = state.tasks.get(qa_task_id)
    return paired_task(task.spec) if task is not None else ""
