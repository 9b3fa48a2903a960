"""What a backlog row's first assignment carries, read from the plan: deadline and lease
from the policy, the executor for its role and area, its requirements' acceptance
criteria (the `llm` executor's prompt) and the gates it may meet.
"""

from __future__ import annotations

from orchestrator.core.events import Approval, BacklogTask, Executor, ModulePlanned, Role, TaskAssigned


def assignment(plan: ModulePlanned, row: BacklogTask) -> TaskAssigned:
    """Attempt 1 of `row`; a re-assignment copies it with the next attempt."""
    return TaskAssigned(
        task_id=row.task_id, area=plan.area, role=row.role, attempt=1,
        requirement_ids=row.requirement_ids, title=row.title,
        deadline_ms=_deadline_ms(plan, row.role),
        lease_ms=plan.policy.heartbeat_timeout_ms,
        executor=_executor(plan, row.role),
        acceptance=_acceptance(plan, row.requirement_ids),
        approvals=_gates(plan, row.role),
        pair_task_id=row.pair_task_id,
    )


def _deadline_ms(plan: ModulePlanned, role: Role) -> int:
    policy = plan.policy
    by_role = {Role.DEV: policy.dev_deadline_ms, Role.QA: policy.qa_deadline_ms}
    return by_role.get(role, policy.devops_deadline_ms)


def _acceptance(plan: ModulePlanned, ids: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(a for r in plan.requirements if r.id in ids for a in r.acceptance)


def _executor(plan: ModulePlanned, role: Role) -> Executor:
    mine = [x for x in plan.executors if x.role is role]
    exact = [x for x in mine if x.area == plan.area]
    general = [x for x in mine if x.area is None]
    return (exact or general or [Executor(role=role)])[0]


def _gates(plan: ModulePlanned, role: Role) -> tuple[Approval, ...]:
    """The policy's gates a task of `role` may meet: its role's, and DevOps the deployments'."""
    deployment = role is Role.DEVOPS
    return tuple(g for g in plan.policy.approvals
                 if g.before == role.value or (deployment and g.before.startswith("deployment_")))
