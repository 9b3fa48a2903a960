"""A task's rounds as its events move it: assigned, triggered, claimed and beating (in
clocks.py), finished, judged, verified or cancelled; one small fold per kind of event.

Only events of the current (attempt, round) move a task, so zombie completions never
double-apply; a re-assigned dev task goes on from its highest round.
"""

from __future__ import annotations

from dataclasses import replace

from orchestrator.core import events as ev
from orchestrator.core.envelope import Event
from services.monitor import clocks, verdicts
from services.monitor.reading import dev_done, live
from services.monitor.state import State, put
from services.monitor.track import Cancelled, Done, Running, Track, Verified, Waiting, bump, finished


def evolve_task(state: State, event: Event, t: int) -> State:
    """The fold of one task event of this Monitor's areas (stale ones change nothing)."""
    match event.payload:
        case ev.TaskAssigned() as p:
            return _assigned(state, event, p, t)
        case ev.TaskStarted() as p if p.task_id in state.tasks:
            return clocks.started(state, p, t)
        case ev.TaskHeartbeat() as p if live(state, p):
            return clocks.beat(state, p, t)
        case ev.QaRequested() | ev.DevopsRequested() | ev.TaskReworkRequested() as p:
            return _triggered(state, event, p, t)
        case (ev.TaskCompleted() | ev.SmokePassed() | ev.DevopsFailed() | ev.SmokeFailed()
              | ev.TaskFailed()) as p:
            return _finished(state, p)
        case ev.QaPassed() | ev.QaFailed() as p if live(state, p) and dev_done(state, p):
            return verdicts.counted(state, p)
        case ev.TaskVerified() | ev.TaskCancelled() as p if p.task_id in state.tasks:
            phase = Verified() if isinstance(p, ev.TaskVerified) else Cancelled()
            return put(state, replace(state.tasks[p.task_id], phase=phase))
        case _:
            return state


def _assigned(state: State, event: Event, p: ev.TaskAssigned, t: int) -> State:
    """A dev task runs from its assignment; QA and DevOps wait for their trigger."""
    old = state.tasks.get(p.task_id)
    if old is not None and (p.attempt <= old.spec.attempt or finished(old)):
        return state
    track = old or Track(p)
    if p.role != ev.Role.DEV:
        return put(state, replace(track, spec=p, round=0, phase=Waiting()))
    round = 0 if old is None else old.max_round + 1
    return put(state, replace(track, spec=p, round=round, phase=Running(t, event)))


Trigger = ev.QaRequested | ev.DevopsRequested | ev.TaskReworkRequested


def _triggered(state: State, event: Event, p: Trigger, t: int) -> State:
    """A request of the current attempt opens a new round: its deadline counts from now."""
    if p.task_id not in state.tasks:
        return state
    track = bump(state.tasks[p.task_id], p.round)
    if p.attempt != track.spec.attempt:
        return put(state, track)
    return put(state, replace(track, round=p.round, phase=Running(t, event)))


def _finished(state: State, p: ev.TaskCompleted | ev.SmokePassed | ev.DevopsFailed | ev.SmokeFailed
              | ev.TaskFailed) -> State:
    """The current round ended, well or not (what follows is `decide`'s)."""
    if not live(state, p):
        return state
    ok = isinstance(p, ev.TaskCompleted | ev.SmokePassed)
    return put(state, replace(state.tasks[p.task_id], phase=Done(ok)))
