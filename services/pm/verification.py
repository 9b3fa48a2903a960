"""`task.verified`, the Monitor's word that a task's work holds: a dev task's QA task is
done with it, and the module completes once every dev task and the devops task are.

The PM never reads `qa.*` itself; the pairing it reads is the one its backlog set.
"""

from __future__ import annotations

from orchestrator.core.envelope import Actor, Event, follow
from orchestrator.core.events import ModuleCompleted, Role, paired_task
from services.pm.state import Running, State, Status, running, update


def verified(state: State, module: Running, tid: str) -> State:
    """The task verified, and a dev task's paired QA task with it (no alert on it counts)."""
    state = update(state, module, tid, status=Status.VERIFIED)
    task = module.tasks.get(tid)
    if task is None or task.assignment.role is not Role.DEV:
        return state
    qa = paired_task(task.assignment)  # verified with the dev task it tests
    return update(state, running(state, module.plan.area) or module, qa, status=Status.VERIFIED)


def completed(me: Actor, cause: Event, after: Running | None) -> list[Event]:
    """`module.completed` once every dev task and the devops task are verified (`after`:
    the module once `cause` is folded)."""
    if after is None:
        return []
    needed = [t for t in after.tasks.values() if t.assignment.role is not Role.QA]
    if not needed or any(t.status is not Status.VERIFIED for t in needed):
        return []
    done = ModuleCompleted(after.plan.area, len(after.tasks))
    return [follow(cause, done, me)]
