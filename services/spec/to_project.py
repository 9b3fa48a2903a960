"""A validated spec document -> the `ProjectCreated` it describes: durations in milliseconds,
defaults filled from `Policy`, and executors one per role (and area when given per area)."""

from __future__ import annotations

from orchestrator.core.events import (
    Approval,
    Budgets,
    Executor,
    Module,
    Policy,
    ProjectCreated,
    Requirement,
    Role,
)
from services.spec.document import _Executor, _Executors, _Spec
from services.spec.fields import ms


def project(spec: _Spec) -> ProjectCreated:
    deadlines, budgets = spec.policy.deadlines, spec.policy.budgets
    defaults = Policy()
    policy = Policy(
        max_attempts=spec.policy.max_attempts,
        dev_deadline_ms=ms(deadlines.dev, defaults.dev_deadline_ms),
        qa_deadline_ms=ms(deadlines.qa, defaults.qa_deadline_ms),
        devops_deadline_ms=ms(deadlines.devops, defaults.devops_deadline_ms),
        heartbeat_timeout_ms=ms(spec.policy.heartbeat_timeout, defaults.heartbeat_timeout_ms),
        budgets=Budgets(budgets.warn_at, budgets.task.limits(), budgets.module.limits(),
                        budgets.project.limits()),
        approvals=tuple(Approval(a.before, ms(a.deadline, Approval("").deadline_ms))
                        for a in spec.policy.approvals),
    )
    modules = tuple(
        Module(m.area, tuple(Requirement(r.id, r.title, tuple(r.acceptance))
                             for r in m.requirements))
        for m in spec.modules
    )
    return ProjectCreated(spec.project, spec.description, modules, policy,
                          _executors(spec.executors))


def _executors(executors: _Executors) -> tuple[Executor, ...]:
    out: list[Executor] = []
    for role in (Role.DEV, Role.QA, Role.DEVOPS):
        choice = getattr(executors, role.value)
        if isinstance(choice, _Executor):
            out.append(_executor(role, None, choice))
        elif isinstance(choice, dict):
            out.extend(_executor(role, area, one) for area, one in choice.items())
    return tuple(out)


def _executor(role: Role, area: str | None, spec: _Executor) -> Executor:
    options = dict(spec.__pydantic_extra__ or {})
    return Executor(role=role, kind=spec.kind, area=area, options=options)
