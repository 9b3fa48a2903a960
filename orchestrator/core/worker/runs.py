"""Which claims the shell runs (again after a restart), whether one is still live, and
what an executor is handed for it: the same for every role, read from the worker's state.
"""

from __future__ import annotations

from orchestrator.core.envelope import Event
from orchestrator.core.events import DevopsRequested, Executor, QaRequested, TaskStarted
from orchestrator.core.worker import Claimed, State
from orchestrator.core.worker.tasks import key_of, task_id_of
from orchestrator.core.worker.work import Work


def unfinished(state: State) -> list[Event]:
    """The claims of current attempts not finished yet: the shell runs them again."""
    return [
        task.phase.started
        for _, task in sorted(state.tasks.items())
        if isinstance(task.phase, Claimed) and key_of(task.phase.started)[0] == task.spec.attempt
    ]


def live(state: State, started: Event) -> Claimed | None:
    """The claim `started` made, if it is still the task's current and unfinished one."""
    task = state.tasks.get(task_id_of(started))
    if task is None:
        return None
    match task.phase:
        case Claimed() as claimed if claimed.started.event_id == started.event_id:
            return claimed if key_of(started)[0] == task.spec.attempt else None
        case _:
            return None


def work_of(state: State, started: Event) -> Work:
    p = started.payload
    assert isinstance(p, TaskStarted), "work of a task.started only"
    task = state.tasks.get(p.task_id)
    spec = task.spec if task is not None else None
    claimed = live(state, started)
    trigger = claimed.trigger.payload if claimed and claimed.trigger else None
    requirement_ids = spec.requirement_ids if spec else ()
    scope = None
    match trigger:
        case DevopsRequested() as t:
            requirement_ids, scope = t.requirement_ids, t.scope
        case QaRequested() as t:
            requirement_ids = t.requirement_ids
        case _:
            pass
    return Work(
        project_id=started.project_id,
        request_id=started.request_id,
        task_id=p.task_id,
        role=p.role,
        area=p.area,
        attempt=p.attempt,
        round=p.round,
        requirement_ids=requirement_ids,
        title=spec.title if spec else p.task_id,
        scope=scope,
        executor=spec.executor if spec else Executor(p.role),
        acceptance=spec.acceptance if spec else (),
    )
