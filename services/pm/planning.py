"""A planned module's backlog and its first assignments, with the dev<->QA pairing.

Everything an assignment carries is settled here, once, from the plan: the task ids, the
pairing (`pair_task_id`), deadlines and lease from the policy, the executor, the
acceptance criteria and the gates; re-assignments copy it.
"""

from __future__ import annotations

import dataclasses
import json

from orchestrator.core.envelope import Actor, Attachment, Event, follow
from orchestrator.core.events import (
    Approval,
    BacklogCreated,
    BacklogTask,
    Executor,
    ModulePlanned,
    Role,
    TaskAssigned,
)


def task_id(project_id: str, area: str, role: Role, requirement: str | None = None) -> str:
    return f"{project_id}/{area}/{role.value}" + (f"/{requirement}" if requirement else "")


def planned(me: Actor, cause: Event, plan: ModulePlanned) -> list[Event]:
    """`backlog.created` (the backlog attached), then `task.assigned` (attempt 1) per row."""
    rows = backlog(cause.project_id, plan)
    listed = {"area": plan.area, "tasks": [dataclasses.asdict(row) for row in rows]}
    content = json.dumps(listed, sort_keys=True, indent=2).encode()
    out = [follow(cause, BacklogCreated(plan.area, rows), me,
                  attachments=(Attachment("backlog.json", "application/json", content),))]
    for row in rows:
        assigned = TaskAssigned(
            task_id=row.task_id, area=plan.area, role=row.role, attempt=1,
            requirement_ids=row.requirement_ids, title=row.title,
            deadline_ms=_deadline_ms(plan, row.role),
            lease_ms=plan.policy.heartbeat_timeout_ms,
            executor=_executor(plan, row.role),
            acceptance=_acceptance(plan, row.requirement_ids),
            approvals=_gates(plan, row.role),
            pair_task_id=row.pair_task_id,
        )
        out.append(follow(cause, assigned, me, row.task_id))
    return out


def backlog(project_id: str, plan: ModulePlanned) -> tuple[BacklogTask, ...]:
    """A dev and a QA task per requirement, paired here once (`pair_task_id`: the Monitor,
    the QA worker and this PM read the pairing, never derive it), and one devops task."""
    rows: list[BacklogTask] = []
    for req in plan.requirements:
        dev, qa = (task_id(project_id, plan.area, role, req.id) for role in (Role.DEV, Role.QA))
        rows.append(BacklogTask(dev, Role.DEV, (req.id,), req.title, pair_task_id=qa))
        rows.append(BacklogTask(qa, Role.QA, (req.id,), req.title, pair_task_id=dev))
    everything = tuple(req.id for req in plan.requirements)
    rows.append(BacklogTask(task_id(project_id, plan.area, Role.DEVOPS), Role.DEVOPS,
                            everything, f"Provision and deploy {plan.area}"))
    return tuple(rows)


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
