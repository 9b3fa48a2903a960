"""Paused clocks: by how much each running deadline moves on when the project or one
module resumes, and what stays stopped while the other pause still holds.

Apart from controls.py, which says when each pause begins and ends; the arithmetic of
overlapping pauses is the part worth reading on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from services.monitor.state import State
from services.monitor.track import Running


def resumed(state: State, paused_at: int, now: int) -> State:
    """Deadlines move on by the time paused (since the trigger, if it came while paused);
    leases start afresh, since nothing could beat in between claims.

    A module still paused on its own keeps its clocks stopped: its stop now counts from the
    earlier of the two pauses, and its own resume moves its deadlines on."""
    held = {a: min(since, paused_at) for a, since in state.paused_areas.items()}
    state = _shifted(state, lambda area: area not in held, paused_at, now)
    return replace(state, paused_at=None, paused_areas=held)


def module_resumed(state: State, area: str, now: int) -> State:
    """One module's clocks go on: its deadlines move on by the time it was paused; while
    the project is still paused, only up to the project's pause (the project's resume
    moves them on from there)."""
    until = now if state.paused_at is None else max(state.paused_at, state.paused_areas[area])
    state = _shifted(state, lambda a: a == area, state.paused_areas[area], until)
    return replace(state, paused_areas={a: s for a, s in state.paused_areas.items() if a != area})


def _shifted(state: State, which: Callable[[str], bool], stopped_at: int, now: int) -> State:
    """The running clocks of the areas `which` selects, moved on by the time they stood
    still between `stopped_at` (or their trigger, if later) and `now`; leases start afresh."""
    tasks = {}
    for tid, track in state.tasks.items():
        if isinstance(track.phase, Running) and which(track.spec.area):
            r = track.phase
            since = r.since + max(0, now - max(r.since, stopped_at))
            beat = None if r.beat is None else max(r.beat, now)
            track = replace(track, phase=replace(r, since=since, beat=beat))
        tasks[tid] = track
    approvals = {i: replace(a, since=a.since + max(0, now - max(a.since, stopped_at)))
                 if which(a.request.area) else a for i, a in state.approvals.items()}
    return replace(state, tasks=tasks, approvals=approvals)
