"""DevOps worker: claims the Monitor's deploy requests, deploys, then runs the smoke tests.

When a deploy is requested (`partial`, `total`) and what `smoke.passed` verifies is the
Monitor's (services/monitor/triggers.py, `deploy_after`); failures become alerts there
and the PM's retries (services/pm/triage.py, `triage`). Claims and leases: orchestrator/core/worker/.
"""

from __future__ import annotations

from orchestrator.core.envelope import Event, Tick, follow
from orchestrator.core.events import (
    ApprovalGranted,
    DevopsDeployed,
    DevopsFailed,
    DevopsRequested,
    ModuleResumed,
    ProjectResumed,
    Scope,
    SmokeFailed,
    SmokePassed,
    TaskReassigned,
    TaskStarted,
)
from orchestrator.core.worker import State, claims, controls, fold, runs, tasks

# the lease protocol the three workers share, re-exported as this actor's own
from orchestrator.core.worker import initial_state as initial_state
from orchestrator.core.worker import is_terminal as is_terminal
from orchestrator.core.worker.runs import unfinished as resume  # noqa: F401 (the Worker protocol's resume)
from orchestrator.core.worker.runs import work_of as work_of
from orchestrator.core.worker.work import Outcome

TRIGGER = DevopsRequested
RESULTS = (DevopsFailed, SmokePassed, SmokeFailed)
interests = fold.interests(TRIGGER, RESULTS)
CLAIMS = (DevopsRequested,)  # what claims work for this role: re-claimed on resume or grant


def evolve(state: State, event: Event) -> State:
    return fold.evolve(state, event, TRIGGER, RESULTS)


def decide(state: State, event: Event | Tick) -> list[Event]:
    if isinstance(event, Event) and not tasks.mine(state, event):
        return []
    match event:
        case Event(payload=ProjectResumed() | ModuleResumed() | ApprovalGranted() | TaskReassigned()):
            return controls.operated(state, event, CLAIMS)
        case Event(payload=DevopsRequested() as p) if p.task_id in state.tasks:
            lease = state.tasks[p.task_id].spec.lease_ms
            return claims.claim(state, event, p.task_id, p.attempt, p.round, lease)
        case _:
            return []


def finish(state: State, started: Event, outcome: Outcome) -> list[Event]:
    """`devops.deployed` then `smoke.passed` / `smoke.failed`, or `devops.failed`; log attached.

    An outcome without a smoke verdict (`smoke_ok` None) counts as a passing smoke test.
    """
    claimed = runs.live(state, started)
    match started.payload:
        case TaskStarted() as p if claimed is not None:
            trigger = claimed.trigger.payload if claimed.trigger else None
            scope = trigger.scope if isinstance(trigger, DevopsRequested) else Scope.TOTAL
            key = (p.task_id, p.area, scope, p.attempt, p.round)
            logs = outcome.attachments
            if not outcome.ok:
                failed = DevopsFailed(*key, reason=outcome.summary)
                return [follow(started, failed, state.me, attachments=logs),
                        *claims.next_claim(state, started, TRIGGER)]
            deployed = DevopsDeployed(*key, environment=f"{p.area}-{scope}")
            smoke: SmokePassed | SmokeFailed = (
                SmokePassed(*key)
                if outcome.smoke_ok is not False
                else SmokeFailed(*key, reason=outcome.summary)
            )
            return [
                follow(started, deployed, state.me, attachments=logs),
                follow(started, smoke, state.me),
                *claims.next_claim(state, started, TRIGGER),
            ]
        case _:
            return []
