"""Task clocks: a lease from the latest claim or beat, a deadline from the trigger; a
tick past either raises its alert once.

`due_times` says when the next one runs out, so the shell ticks only then. A task waiting
for a person's approval, or of a module paused on its own, keeps its clocks still.
"""

from __future__ import annotations

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
    match track.phase:
        case Running(since=since, cause=cause, beat=beat):
            late: list[tuple[AlertKind, str]] = []
            if beat is not None and now - beat >= track.spec.lease_ms:
                late.append((AlertKind.SILENT_WORKER, f"no heartbeat for {now - beat} ms"))
            if now - since >= track.spec.deadline_ms:
                late.append((AlertKind.DEADLINE_MISSED, f"not finished {now - since} ms after trigger"))
            alerts = [a for kind, text in late for a in alert(state, cause, track, kind, text)]
            return [replace(a, occurred_at=now) for a in alerts]
        case _:
            return []


def _due_times(track: Track) -> list[int]:
    """The times `_timers` would alert this track at, unless already alerted."""
    match track.phase:
        case Running(since=since, beat=beat):
            key = (track.spec.attempt, track.round)
            out = []
            if beat is not None and (AlertKind.SILENT_WORKER.value, *key) not in track.alerted:
                out.append(beat + track.spec.lease_ms)
            if (AlertKind.DEADLINE_MISSED.value, *key) not in track.alerted:
                out.append(since + track.spec.deadline_ms)
            return out
        case _:
            return []
