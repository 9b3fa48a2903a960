"""What one event about a task does to that task: claims, triggers, results, gates.

The per-task half of the fold (fold.py): a claim only moves forward, a trigger waits
among the task's triggers until it is claimed, and a result finishes only the claim it
names; anything else leaves the task as it was.
"""

from __future__ import annotations

from dataclasses import replace

from orchestrator.core.envelope import Event
from orchestrator.core.events import (
    ApprovalGranted,
    ApprovalRejected,
    ApprovalRequested,
    DevopsFailed,
    DevopsRequested,
    QaFailed,
    QaPassed,
    QaRequested,
    SmokeFailed,
    SmokePassed,
    TaskCancelled,
    TaskCompleted,
    TaskFailed,
    TaskReassigned,
    TaskReworkRequested,
    TaskStarted,
)
from orchestrator.core.worker import Cancelled, Claimed, Finished, Task
from orchestrator.core.worker.gates import gate
from orchestrator.core.worker.tasks import claimable, key_of, with_trigger

Trigger = TaskReworkRequested | QaRequested | DevopsRequested
Result = TaskCompleted | TaskFailed | QaPassed | QaFailed | DevopsFailed | SmokePassed | SmokeFailed


def of_task(
    task: Task, event: Event, trigger: type[Trigger], results: tuple[type[Result], ...]
) -> Task | None:
    """The task after `event`, or None when the event is not one that moves it."""
    p = event.payload
    match p:
        case TaskStarted():
            return _started(task, event, p)
        case TaskCancelled():
            return replace(task, phase=Cancelled(), triggers={})
        case ApprovalRequested() | ApprovalGranted() | ApprovalRejected():
            return gate(task, p)
        case TaskReassigned():
            return replace(task, spec=replace(task.spec, executor=p.executor))
        case TaskReworkRequested() | QaRequested() | DevopsRequested() if isinstance(p, trigger):
            task = replace(task, max_round=max(task.max_round, p.round))
            if claimable(task, p.attempt, p.round):
                task = replace(task, triggers=with_trigger(task, event))
            return task
        case (
            TaskCompleted() | TaskFailed() | QaPassed() | QaFailed() | DevopsFailed()
            | SmokePassed() | SmokeFailed()
        ) if isinstance(p, results):
            match task.phase:
                case Claimed(started=started) if key_of(started) == (p.attempt, p.round):
                    return replace(task, phase=Finished(started))
                case _:
                    return None
        case _:
            return None


def _started(task: Task, event: Event, p: TaskStarted) -> Task:
    """A claim: the trigger that caused it leaves the waiting ones (a stale claim only counts its round)."""
    task = replace(task, max_round=max(task.max_round, p.round))
    if not claimable(task, p.attempt, p.round):
        return task
    trigger_event = task.triggers.get(event.causation_id or "")
    if trigger_event is None and isinstance(task.phase, Claimed):
        trigger_event = task.phase.trigger  # a hand-off re-claims the same work
    rest = {i: t for i, t in task.triggers.items() if i != event.causation_id}
    claimed = Claimed(event, trigger_event)
    return replace(task, phase=claimed, last=(p.attempt, p.round), triggers=rest)
