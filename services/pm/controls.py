"""How a module ends early: blocked (a rejected gate, an operator's cancel, the CTO's
ruling) or stopped with its project; either way its open tasks are cancelled first.

Workers stop their runs on `task.cancelled`; `module.blocked` reaches the CTO, who
blocks the project while the other modules go on.
"""

from __future__ import annotations

from orchestrator.core.envelope import Actor, Event, follow
from orchestrator.core.events import ApprovalRejected, ModuleBlocked, TaskCancelled
from services.pm.state import Running, State, is_open


def block(me: Actor, cause: Event, module: Running, reason: str, why: str | None = None) -> list[Event]:
    """The module ends blocked: its open tasks cancelled (`why`), then `module.blocked`."""
    out = [
        follow(cause, TaskCancelled(tid, module.plan.area, why or reason), me, tid)
        for tid, t in module.tasks.items()
        if is_open(t)
    ]
    out.append(follow(cause, ModuleBlocked(module.plan.area, reason), me))
    return out


def rejected(me: Actor, cause: Event, module: Running, no: ApprovalRejected) -> list[Event]:
    """A person said no at a gate: the work it held never comes, so the module is blocked."""
    why = f"approval rejected ({no.gate} of {no.task_id})" + (f": {no.reason}" if no.reason else "")
    return block(me, cause, module, why)


def module_cancelled(me: Actor, cause: Event, module: Running, reason: str) -> list[Event]:
    """The module ends as a blocked one does: the CTO blocks the project, the others go on."""
    why = "cancelled by an operator" + (f": {reason}" if reason else "")
    return block(me, cause, module, why, f"module {why}")


def cancel_all(state: State, cause: Event, reason: str) -> list[Event]:
    """Every open task of every running module: `task.cancelled` (workers stop their runs)."""
    why = f"project cancelled: {reason}" if reason else "project cancelled"
    return [
        follow(cause, TaskCancelled(tid, module.plan.area, why), state.me, tid)
        for _, module in sorted(state.modules.items()) if isinstance(module, Running)
        for tid, task in module.tasks.items() if is_open(task)
    ]
