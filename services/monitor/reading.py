"""Questions every rule asks of the state: whose event it is, whether it is of a task's
current attempt and round, which task pairs with which, what is verified.

Shared by `decide` and `evolve`, so both judge an event alike (a zombie completion is
stale for both).
"""

from __future__ import annotations

from orchestrator.core.envelope import Event
from orchestrator.core.events import (
    DevopsFailed,
    QaFailed,
    QaPassed,
    Role,
    SmokeFailed,
    SmokePassed,
    TaskAssigned,
    TaskCompleted,
    TaskFailed,
    TaskHeartbeat,
    paired_task,
)
from services.monitor.state import State, area_tasks
from services.monitor.track import Done, Running, Track, Verified, finished


def mine(state: State, event: Event) -> bool:
    """An event of an area this Monitor follows, whose module has not ended."""
    area = getattr(event.payload, "area", None)
    return (area is not None and (state.me.area is None or state.me.area == area)
            and area not in state.ended)


def reassigned(state: State, p: TaskAssigned) -> bool:
    old = state.tasks.get(p.task_id)
    return p.attempt > 1 and old is not None and p.attempt > old.spec.attempt and not finished(old)


def late(state: State, p: TaskAssigned) -> bool:
    """A first QA or DevOps assignment seen only after the work it waits for: producers race."""
    return p.task_id not in state.tasks and p.role in (Role.QA, Role.DEVOPS)


def live(state: State, p: TaskCompleted | TaskFailed | TaskHeartbeat | QaPassed | QaFailed
         | DevopsFailed | SmokePassed | SmokeFailed) -> bool:
    """The event is of the task's current attempt and round, and the round is still open."""
    track = state.tasks.get(p.task_id)
    return (track is not None and isinstance(track.phase, Running)
            and (p.attempt, p.round) == (track.spec.attempt, track.round))


def dev_done(state: State, p: QaPassed | QaFailed) -> bool:
    """The QA result is about the dev task's current round, which completed."""
    dev = state.tasks.get(p.dev_task_id)
    return dev is not None and dev.round == p.round and dev.phase == Done(True)


def qa_of(state: State, dev: Track) -> Track | None:
    return _paired(state, dev, Role.QA)


def dev_of(state: State, qa: Track) -> Track | None:
    return _paired(state, qa, Role.DEV)


def _paired(state: State, track: Track, role: Role) -> Track | None:
    """The task of `role` the assignment pairs this one with (the PM's plan decides it)."""
    other = state.tasks.get(paired_task(track.spec))
    return other if other is not None and other.spec.role == role else None


def verified(state: State, area: str) -> set[str]:
    return {
        r
        for t in area_tasks(state, area)
        if t.spec.role == Role.DEV and isinstance(t.phase, Verified)
        for r in t.spec.requirement_ids
    }
