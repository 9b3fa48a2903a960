"""Pause, resume and cancel, of the project or of one module, and a module's end, as a
worker folds them: what it may claim next depends on them, not on any one task.

A paused project (or module) keeps its triggers waiting; a cancelled project drops every
task; an ended module drops its tasks and is remembered, so a late assignment is ignored.
"""

from __future__ import annotations

from dataclasses import replace

from orchestrator.core.events import (
    ModuleBlocked,
    ModuleCompleted,
    ModulePaused,
    ModuleResumed,
    ProjectCancelled,
    ProjectPaused,
    ProjectResumed,
)
from orchestrator.core.worker import State

LIFECYCLE = (ProjectPaused, ProjectResumed, ProjectCancelled, ModulePaused, ModuleResumed,
             ModuleCompleted, ModuleBlocked)


def lifecycle(state: State, p: object) -> State:
    """Pause, resume and cancel (the project's or a module's), and a module's end."""
    match p:
        case ProjectPaused():
            return replace(state, paused=True)
        case ProjectResumed():
            return replace(state, paused=False)
        case ModulePaused(area=area) if area not in state.ended:
            return replace(state, paused_areas=state.paused_areas | {area})
        case ModuleResumed(area=area):
            return replace(state, paused_areas=state.paused_areas - {area})
        case ProjectCancelled():
            return replace(state, tasks={}, cancelled=True)
        case ModuleCompleted(area=area) | ModuleBlocked(area=area):
            tasks = {tid: t for tid, t in state.tasks.items() if t.spec.area != area}
            return replace(state, tasks=tasks, ended=state.ended | {area},
                           paused_areas=state.paused_areas - {area})
        case _:
            return state
