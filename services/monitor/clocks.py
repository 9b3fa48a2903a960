"""Task clocks: a lease from the latest claim or beat, a deadline from the trigger; a
tick past either raises its alert once.

`due_times` says when the next one runs out, so the shell ticks only then. A task waiting
for a person's approval, or of a module paused on its own, keeps its clocks still.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from orchestrator.core.envelope import Event
from orchestrator.core.events import AlertKind, TaskHeartbeat, TaskStarted
from services.monitor.alerts import alert
from services.monitor.state import State, put
from services.monitor.track import Running, Track, bump


def timers(state: State, now: int) -> list[Event]:
    """The lease and deadline alerts a tick at `now` raises, task by task."""
    return [a for _, t in sorted(state.tasks.items()) if not held(state, t) for a in _timers(state, t, now)]


def due_times(state: State) -> list[int]:
    """When each running clock not held nor alerted yet runs out."""
    return [at for track in state.tasks.values() if not held(state, track) for at in _due_times(track)]


def held(state: State, track: Track) -> bool:
    """Waiting for a person's approval, or its module paused on its own: the task's own
    clocks stand still meanwhile."""
    return track.spec.area in state.paused_areas or any(
        a.request.task_id == track.spec.task_id for a in state.approvals.values())


def started(state: State, p: TaskStarted, t: int) -> State:
    """A claim of the current attempt: its lease counts from now, in the claimed round."""
    track = bump(state.tasks[p.task_id], p.round)
    match track.phase:
        case Running() as r if p.attempt == track.spec.attempt and p.round >= track.round:
            return put(state, replace(track, round=p.round, phase=replace(r, beat=t)))
        case _:
            return put(state, track)


def beat(state: State, p: TaskHeartbeat, t: int) -> State:
    """A beat of the current round: the lease counts from the latest one."""
    track = state.tasks[p.task_id]
    assert isinstance(track.phase, Running)
    latest = max(track.phase.beat or t, t)
    return put(state, replace(track, phase=replace(track.phase, beat=latest)))


def _timers(state: State, track: Track, now: int) -> list[Event]:
    if not isinstance(track.phase, Running):
        return []
    late = [(kind, text(now - start)) for kind, at, start, text in _limits(track) if now >= at]
    alerts = [a for kind, why in late for a in alert(state, track.phase.cause, track, kind, why)]
    return [replace(a, occurred_at=now) for a in alerts]


def _due_times(track: Track) -> list[int]:
    """The times `_timers` would alert this track at, unless already alerted."""
    key = (track.spec.attempt, track.round)
    return [at for kind, at, _, _ in _limits(track) if (kind.value, *key) not in track.alerted]


def _limits(track: Track) -> list[tuple[AlertKind, int, int, Callable[[int], str]]]:
    """Each running clock: (its alert, when it runs out, when it started, the alert's text)."""
    match track.phase:
        case Running(since=since, beat=last):
            lease = [] if last is None else [(AlertKind.SILENT_WORKER, last + track.spec.lease_ms, last,
                                              lambda ms: f"no heartbeat for {ms} ms")]
            return [*lease, (AlertKind.DEADLINE_MISSED, since + track.spec.deadline_ms, since,
                             lambda ms: f"not finished {ms} ms after trigger")]
        case _:
            return []
