"""An operator's word to a worker, every role alike: resume, a granted gate, a hand-off.

Each is a claim the pause (or the gate) held back, or, for a running claim handed to
another executor, a new claim of the same attempt that supersedes it (handoff.py).
"""

from __future__ import annotations

from dataclasses import replace

from orchestrator.core.envelope import Event
from orchestrator.core.events import ApprovalGranted, ModuleResumed, ProjectResumed, TaskReassigned
from orchestrator.core.worker import Cancelled, Claimed, State
from orchestrator.core.worker.claims import claim_or_ask
from orchestrator.core.worker.gates import asked, gate
from orchestrator.core.worker.handoff import hand_off
from orchestrator.core.worker.tasks import claimable, held, put


def operated(state: State, event: Event, kinds: tuple[type, ...]) -> list[Event]:
    """What an operator's word claims.

    `kinds` are the trigger types that claim for this role (Dev: its assignment and
    reworks): on `project.resumed` every idle task claims the newest that waited (but for
    the modules still paused on their own), on `module.resumed` every idle task of that
    module does unless the project is paused, on `approval.granted` the task it opened does.
    """
    if state.cancelled:
        return []
    match event.payload:
        case ProjectResumed() if state.paused:
            return resume_claims(replace(state, paused=False), kinds)
        case ModuleResumed(area=area) if area in state.paused_areas and not state.paused:
            return resume_claims(replace(state, paused_areas=state.paused_areas - {area}), kinds)
        case ApprovalGranted(task_id=tid) as p if asked(state, tid, p.gate) and not (
            state.paused or held(state, p.area)
        ):
            return resume_claims(put(state, gate(state.tasks[tid], p)), kinds, tid)
        case TaskReassigned() as p:
            return hand_off(state, event, p)
        case _:
            return []


def resume_claims(state: State, kinds: tuple[type, ...], only: str | None = None) -> list[Event]:
    """Per idle task (or the task `only`), the claim of its newest trigger that waited.

    An assignment claims the next round; a trigger names its own round.
    """
    out: list[Event] = []
    for tid, task in sorted(state.tasks.items()):
        if isinstance(task.phase, Claimed | Cancelled) or only not in (None, tid):
            continue
        if held(state, task.spec.area):
            continue  # its module is still paused on its own
        waiting = [t for t in task.triggers.values() if isinstance(t.payload, kinds)
                   and getattr(t.payload, "attempt", None) == task.spec.attempt]
        if not waiting:
            continue
        newest = max(waiting, key=lambda t: getattr(t.payload, "round", -1))
        round = getattr(newest.payload, "round", None)
        round = task.max_round + 1 if round is None else round
        if claimable(task, task.spec.attempt, round):
            out.extend(claim_or_ask(state, task, newest, task.spec.attempt, round))
    return out
