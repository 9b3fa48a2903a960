"""A planned module's backlog, with the dev<->QA pairing, and its first assignments.

The task ids and the pairing (`pair_task_id`) are settled here, once; what else an
assignment carries comes from the plan (assignment.py). Re-assignments copy it all.
"""

from __future__ import annotations

import dataclasses
import json

from orchestrator.core.envelope import Actor, Attachment, Event, follow
from orchestrator.core.events import BacklogCreated, BacklogTask, ModulePlanned, Role
from services.pm.assignment import assignment


def task_id(project_id: str, area: str, role: Role, requirement: str | None = None) -> str:
    return f"{project_id}/{area}/{role.value}" + (f"/{requirement}" if requirement else "")


def planned(me: Actor, cause: Event, plan: ModulePlanned) -> list[Event]:
    """`backlog.created` (the backlog attached), then `task.assigned` (attempt 1) per row."""
    rows = backlog(cause.project_id, plan)
    listed = {"area": plan.area, "tasks": [dataclasses.asdict(row) for row in rows]}
    content = json.dumps(listed, sort_keys=True, indent=2).encode()
    out = [follow(cause, BacklogCreated(plan.area, rows), me,
                  attachments=(Attachment("backlog.json", "application/json", content),))]
    out += [follow(cause, assignment(plan, row), me, row.task_id) for row in rows]
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
