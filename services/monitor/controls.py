"""Pause, resume and cancel, of the project and of one module: when each one's clocks
stop and go on (by how much they move on is pauses.py's).

A module's end (completed or blocked) is here too: like a cancel, for one area, it
forgets that module's tasks, runs, approvals and pause.
"""

from __future__ import annotations

from dataclasses import replace

from orchestrator.core.events import (
    ModulePaused,
    ModuleResumed,
    ProjectCancelled,
    ProjectPaused,
    ProjectResumed,
)
from services.monitor import pauses
from services.monitor.state import State


def project(state: State, p: ProjectPaused | ProjectResumed | ProjectCancelled, t: int) -> State:
    match p:
        case ProjectPaused() if state.paused_at is None:
            return replace(state, paused_at=t)
        case ProjectResumed() if state.paused_at is not None:
            return pauses.resumed(state, state.paused_at, t)
        case ProjectCancelled():
            return replace(state, tasks={}, cancelled=True, approvals={})
        case _:
            return state


def module(state: State, p: ModulePaused | ModuleResumed, t: int) -> State:
    match p:
        case ModulePaused(area=area) if area not in state.paused_areas:
            return replace(state, paused_areas={**state.paused_areas, area: t})
        case ModuleResumed(area=area) if area in state.paused_areas:
            return pauses.module_resumed(state, area, t)
        case _:
            return state


def ended(state: State, area: str) -> State:
    """The module completed or was blocked: nothing of it is followed any more."""
    tasks = {tid: track for tid, track in state.tasks.items() if track.spec.area != area}
    spent = {run: s for run, s in state.spent.items() if run[0] != area}
    approvals = {i: a for i, a in state.approvals.items() if a.request.area != area}
    paused = {a: since for a, since in state.paused_areas.items() if a != area}
    return replace(state, tasks=tasks, spent=spent, ended=state.ended | {area},
                   approvals=approvals, paused_areas=paused)
