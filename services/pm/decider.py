"""PM per area: backlog, assignments, alert triage, module outcome (docs/flow.md).

A process: it hears status only from the Monitor (alerts, verifications) and rulings
from the CTO. Each module is `Running`, then `Done` or `Blocked` (terminal).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from enum import StrEnum

from orchestrator.core.envelope import Actor, Attachment, Event, Tick, follow
from orchestrator.core.events import (
    AlertKind,
    Approval,
    ApprovalRejected,
    BacklogCreated,
    BacklogTask,
    CtoDecided,
    Decision,
    Executor,
    ModuleBlocked,
    ModuleCancelled,
    ModuleCompleted,
    ModulePlanned,
    MonitorAlert,
    PmEscalated,
    ProjectCancelled,
    Role,
    Severity,
    TaskAssigned,
    TaskCancelled,
    TaskReassigned,
    TaskVerified,
    paired_task,
)


class Status(StrEnum):
    ASSIGNED = "assigned"
    VERIFIED = "verified"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Task:
    assignment: TaskAssigned  # the current attempt
    status: Status = Status.ASSIGNED
    escalated: bool = False  # this attempt awaits the CTO's ruling


@dataclass(frozen=True)
class Running:
    plan: ModulePlanned
    tasks: dict[str, Task] = field(default_factory=dict)  # backlog order


@dataclass(frozen=True)
class Done:
    area: str


@dataclass(frozen=True)
class Blocked:
    area: str


@dataclass(frozen=True)
class Stopped:
    """The project was cancelled: the module's open tasks were cancelled with it."""

    area: str


ModuleState = Running | Done | Blocked | Stopped


@dataclass(frozen=True)
class State:
    me: Actor
    modules: dict[str, ModuleState] = field(default_factory=dict)


interests = frozenset({
    ModulePlanned, TaskAssigned, PmEscalated, TaskVerified, TaskCancelled, ModuleCompleted,
    ModuleBlocked, MonitorAlert, CtoDecided, ProjectCancelled, ApprovalRejected, TaskReassigned,
    ModuleCancelled,
})


def initial_state(me: Actor) -> State:
    return State(me)


def is_terminal(state: State) -> bool:
    """Every module this PM runs is done or blocked."""
    return bool(state.modules) and not any(isinstance(m, Running) for m in state.modules.values())


def task_id(project_id: str, area: str, role: Role, requirement: str | None = None) -> str:
    return f"{project_id}/{area}/{role.value}" + (f"/{requirement}" if requirement else "")


def evolve(state: State, event: Event) -> State:
    match event.payload:
        case ModulePlanned(area=area) as plan if _mine(state, area) and area not in state.modules:
            return _put(state, area, Running(plan))
        case TaskAssigned(area=area) as assigned if (module := _running(state, area)):
            return _put_task(state, module, Task(assigned))
        case PmEscalated(area=area, task_id=tid) if (module := _running(state, area)):
            return _update(state, module, tid, escalated=True)
        case TaskVerified(area=area, task_id=tid) if (module := _running(state, area)):
            state = _update(state, module, tid, status=Status.VERIFIED)
            task = module.tasks.get(tid)
            if task is None or task.assignment.role is not Role.DEV:
                return state
            qa = paired_task(task.assignment)  # verified with the dev task it tests
            return _update(state, _running(state, area) or module, qa, status=Status.VERIFIED)
        case TaskReassigned(area=area, task_id=tid) as p if (
            (module := _running(state, area)) and _is_open(task := module.tasks.get(tid))
        ):
            assert task is not None
            moved = dataclasses.replace(task.assignment, executor=p.executor)  # later attempts too
            return _put_task(state, module, dataclasses.replace(task, assignment=moved))
        case TaskCancelled(area=area, task_id=tid) if (module := _running(state, area)):
            return _update(state, module, tid, status=Status.CANCELLED)
        case ModuleCompleted(area=area) if _running(state, area):
            return _put(state, area, Done(area))
        case ModuleBlocked(area=area) if _running(state, area):
            return _put(state, area, Blocked(area))
        case ProjectCancelled():
            stopped: dict[str, ModuleState] = {
                a: Stopped(a) if isinstance(m, Running) else m for a, m in state.modules.items()}
            return dataclasses.replace(state, modules=stopped)
        case _:
            return state


def decide(state: State, event: Event | Tick) -> list[Event]:
    match event:
        case Event(payload=ModulePlanned(area=area) as plan) if (
            _mine(state, area) and area not in state.modules
        ):
            return _plan(state.me, event, plan)
        case Event(payload=MonitorAlert(kind=AlertKind.APPROVAL_OVERDUE)):
            return []  # a person's to answer: another attempt would ask the same question
        case Event(payload=MonitorAlert(area=area) as alert) if (module := _running(state, area)):
            return _triage(state.me, event, module, alert)
        case Event(payload=ApprovalRejected(area=area) as no) if (module := _running(state, area)):
            why = f"approval rejected ({no.gate} of {no.task_id})" + (f": {no.reason}" if no.reason else "")
            return _block(state.me, event, module, why)
        case Event(payload=CtoDecided(area=area) as ruling) if (module := _running(state, area)):
            return _apply(state.me, event, module, ruling)
        case Event(payload=ProjectCancelled(reason=reason)):
            return _cancel_all(state, event, reason)
        case Event(payload=ModuleCancelled(area=area, reason=reason)) if (module := _running(state, area)):
            # the module ends as a blocked one does: the CTO blocks the project, the others go on
            why = "cancelled by an operator" + (f": {reason}" if reason else "")
            return _block(state.me, event, module, why, f"module {why}")
        case Event(payload=TaskVerified(area=area, task_id=tid)) if (
            (module := _running(state, area)) and _is_open(module.tasks.get(tid))
        ):
            return _maybe_complete(state, event, module, tid)
        case _:
            return []


def _plan(me: Actor, cause: Event, plan: ModulePlanned) -> list[Event]:
    rows = _backlog(cause.project_id, plan)
    backlog = {"area": plan.area, "tasks": [dataclasses.asdict(row) for row in rows]}
    content = json.dumps(backlog, sort_keys=True, indent=2).encode()
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


def _backlog(project_id: str, plan: ModulePlanned) -> tuple[BacklogTask, ...]:
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


def _triage(me: Actor, cause: Event, module: Running, alert: MonitorAlert) -> list[Event]:
    task = module.tasks.get(alert.task_id)
    if not _is_open(task) or task is None or task.escalated:
        return []
    attempt = task.assignment.attempt
    if alert.attempt != attempt:
        return []  # stale: an older attempt's alert
    reason = f"{alert.kind.value}: {alert.message}"
    if alert.kind is AlertKind.BUDGET and alert.severity is Severity.WARNING:
        return []  # a budget warning informs; an exhausted budget (critical) stops the work
    if alert.severity is Severity.CRITICAL:
        return [_escalate(me, cause, task, alert.kind, reason)]
    if attempt < module.plan.policy.max_attempts:
        return [_reassign(me, cause, task)]
    exhausted = f"{reason} (attempts exhausted: {attempt} of {module.plan.policy.max_attempts})"
    return [_escalate(me, cause, task, alert.kind, exhausted)]


def _apply(me: Actor, cause: Event, module: Running, ruling: CtoDecided) -> list[Event]:
    task = module.tasks.get(ruling.task_id)
    if ruling.decision is Decision.RETRY:
        if task is None or not _is_open(task) or not task.escalated:
            return []
        return [_reassign(me, cause, task)]
    return _block(me, cause, module, ruling.reason, f"blocked by the CTO: {ruling.reason}")


def _block(me: Actor, cause: Event, module: Running, reason: str, why: str | None = None) -> list[Event]:
    """The module ends blocked: its open tasks cancelled (`why`), then `module.blocked`."""
    out = [
        follow(cause, TaskCancelled(tid, module.plan.area, why or reason), me, tid)
        for tid, t in module.tasks.items()
        if _is_open(t)
    ]
    out.append(follow(cause, ModuleBlocked(module.plan.area, reason), me))
    return out


def _cancel_all(state: State, cause: Event, reason: str) -> list[Event]:
    """Every open task of every running module: `task.cancelled` (workers stop their runs)."""
    why = f"project cancelled: {reason}" if reason else "project cancelled"
    return [
        follow(cause, TaskCancelled(tid, module.plan.area, why), state.me, tid)
        for _, module in sorted(state.modules.items()) if isinstance(module, Running)
        for tid, task in module.tasks.items() if _is_open(task)
    ]


def _maybe_complete(state: State, cause: Event, module: Running, tid: str) -> list[Event]:
    after = _running(evolve(state, cause), module.plan.area)
    if after is None:
        return []
    needed = [t for t in after.tasks.values() if t.assignment.role is not Role.QA]
    if not needed or any(t.status is not Status.VERIFIED for t in needed):
        return []
    done = ModuleCompleted(module.plan.area, len(after.tasks))
    return [follow(cause, done, state.me)]


def _reassign(me: Actor, cause: Event, task: Task) -> Event:
    again = dataclasses.replace(task.assignment, attempt=task.assignment.attempt + 1)
    return follow(cause, again, me, again.task_id, again.attempt)


def _escalate(me: Actor, cause: Event, task: Task, kind: AlertKind, reason: str) -> Event:
    """`kind` travels as a field: the CTO rules on it (`reason` is for people)."""
    a = task.assignment
    return follow(cause, PmEscalated(a.task_id, a.area, reason, a.attempt, kind), me, a.task_id)


def _is_open(task: Task | None) -> bool:
    return task is not None and task.status is Status.ASSIGNED


def _mine(state: State, area: str) -> bool:
    return state.me.area is None or state.me.area == area


def _running(state: State, area: str) -> Running | None:
    module = state.modules.get(area) if _mine(state, area) else None
    return module if isinstance(module, Running) else None


def _put(state: State, area: str, module: ModuleState) -> State:
    return dataclasses.replace(state, modules={**state.modules, area: module})


def _put_task(state: State, module: Running, task: Task) -> State:
    tasks = {**module.tasks, task.assignment.task_id: task}
    return _put(state, module.plan.area, dataclasses.replace(module, tasks=tasks))


def _update(
    state: State, module: Running, tid: str, *,
    status: Status | None = None, escalated: bool | None = None,
) -> State:
    task = module.tasks.get(tid)
    if task is None or task.status is not Status.ASSIGNED:
        return state
    escalated = task.escalated if escalated is None else escalated
    return _put_task(state, module, Task(task.assignment, status or task.status, escalated))
