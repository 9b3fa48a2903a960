"""The event catalog's payload types: frozen, past tense, payload only.

Each class mirrors one record in `schemas/` field for field (a test holds them together);
the `.avsc` files are the contract, versioned with care.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    CLIENT = "client"
    SPEC = "spec"
    CTO = "cto"
    PM = "pm"
    MONITOR = "monitor"
    DEV = "dev"
    QA = "qa"
    DEVOPS = "devops"
    PROJECTOR = "projector"


class Scope(StrEnum):
    PARTIAL = "partial"
    TOTAL = "total"


class AlertKind(StrEnum):
    DEADLINE_MISSED = "deadline_missed"
    SILENT_WORKER = "silent_worker"
    TASK_FAILED = "task_failed"
    REPEATED_QA_FAILURE = "repeated_qa_failure"
    DEPLOY_FAILED = "deploy_failed"
    SMOKE_FAILED = "smoke_failed"
    BUDGET = "budget"
    APPROVAL_OVERDUE = "approval_overdue"


class Severity(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


class Decision(StrEnum):
    RETRY = "retry"
    BLOCK = "block"


# -- shared records -------------------------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    id: str
    title: str
    acceptance: tuple[str, ...] = ()


@dataclass(frozen=True)
class Module:
    area: str
    requirements: tuple[Requirement, ...]


# what an approval may gate: the first claim of a task of a role, or a deployment's scope
GATES = ("dev", "qa", "devops", "deployment_partial", "deployment_total")


@dataclass(frozen=True)
class Approval:
    """A gate of the policy: the work `before` names waits for a person's `approval.granted`."""

    before: str
    deadline_ms: int = 24 * 3600 * 1000  # unanswered this long: the Monitor alerts


@dataclass(frozen=True)
class Budget:
    """Limits on what runs consume; 0 is no limit. Tokens count prompt plus completion."""

    tokens: int = 0
    cost: float = 0.0
    seconds: float = 0.0


@dataclass(frozen=True)
class Budgets:
    """`task` applies to each task (every attempt and round), `module` to each module,
    `project` to the whole project (every area's runs together)."""

    warn_at: float = 0.8  # the share of a limit that raises a warning
    task: Budget = Budget()
    module: Budget = Budget()
    project: Budget = Budget()  # last, with a default: records written before it stay readable


@dataclass(frozen=True)
class Policy:
    max_attempts: int = 3
    dev_deadline_ms: int = 2 * 3600 * 1000
    qa_deadline_ms: int = 30 * 60 * 1000
    devops_deadline_ms: int = 3600 * 1000
    heartbeat_timeout_ms: int = 30 * 1000
    budgets: Budgets = Budgets()
    approvals: tuple[Approval, ...] = ()


EXECUTOR_KINDS = ("simulated", "command", "http", "manual", "llm")  # what `Executor.kind` may name


@dataclass(frozen=True)
class Executor:
    role: Role
    kind: str = "simulated"
    area: str | None = None
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SpecError:
    path: str
    message: str


@dataclass(frozen=True)
class BacklogTask:
    task_id: str
    role: Role
    requirement_ids: tuple[str, ...]
    title: str
    pair_task_id: str = ""  # dev <-> QA, as `TaskAssigned.pair_task_id`


# -- events ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SpecSubmitted:
    document: bytes
    filename: str | None = None


@dataclass(frozen=True)
class SpecRejected:
    errors: tuple[SpecError, ...]


@dataclass(frozen=True)
class ProjectCreated:
    name: str
    description: str
    modules: tuple[Module, ...]
    policy: Policy
    executors: tuple[Executor, ...] = ()


@dataclass(frozen=True)
class CharterCreated:
    name: str
    modules: tuple[str, ...]
    milestones: tuple[str, ...]


@dataclass(frozen=True)
class ModulePlanned:
    area: str
    pm: str
    requirements: tuple[Requirement, ...]
    policy: Policy
    executors: tuple[Executor, ...] = ()


@dataclass(frozen=True)
class BacklogCreated:
    area: str
    tasks: tuple[BacklogTask, ...]


@dataclass(frozen=True)
class TaskAssigned:
    task_id: str
    area: str
    role: Role
    attempt: int
    requirement_ids: tuple[str, ...]
    title: str
    deadline_ms: int
    lease_ms: int
    executor: Executor
    acceptance: tuple[str, ...] = ()  # the acceptance criteria of its requirements
    approvals: tuple[Approval, ...] = ()  # the policy's gates that apply to this task's role
    # dev <-> QA, paired once by the PM's plan: a dev task's QA task (which tests it), a QA
    # task's dev task (which it tests, and which a QA failure sends back to rework); "" for
    # devops, and in assignments written before the field existed (see `paired_task`)
    pair_task_id: str = ""


def paired_task(assigned: TaskAssigned) -> str:
    """The task `assigned` pairs with (dev <-> QA), "" for none: its `pair_task_id`.

    Assignments written before the field existed (schemas v0001-v0003) read it as "", yet
    the PM paired their tasks all the same, by its ids (`<project>/<area>/dev/<REQ>` <->
    `<project>/<area>/qa/<REQ>`): for those old records alone the pair is read back from
    the id, so a project in flight across the upgrade still completes. New records never
    take this path; it can go once no project planned before v0004 is still running.
    """
    if assigned.pair_task_id or assigned.role not in (Role.DEV, Role.QA):
        return assigned.pair_task_id
    other = Role.QA if assigned.role is Role.DEV else Role.DEV
    head, sep, requirement = assigned.task_id.rpartition(f"/{assigned.role.value}/")
    return f"{head}/{other.value}/{requirement}" if sep and requirement else ""


@dataclass(frozen=True)
class TaskStarted:
    task_id: str
    area: str
    role: Role
    attempt: int
    round: int
    lease_ms: int


@dataclass(frozen=True)
class TaskHeartbeat:
    task_id: str
    area: str
    role: Role
    attempt: int
    round: int
    seq: int


@dataclass(frozen=True)
class TaskUsage:
    """What one run (attempt, round) of a task consumed, reported when it ends."""

    task_id: str
    area: str
    role: Role
    attempt: int
    round: int
    tokens_in: int
    tokens_out: int
    cost: float
    seconds: float


@dataclass(frozen=True)
class TaskCompleted:
    task_id: str
    area: str
    role: Role
    attempt: int
    round: int
    summary: str


@dataclass(frozen=True)
class TaskFailed:
    task_id: str
    area: str
    role: Role
    attempt: int
    round: int
    reason: str


@dataclass(frozen=True)
class QaRequested:
    task_id: str
    area: str
    dev_task_id: str
    requirement_ids: tuple[str, ...]
    attempt: int
    round: int


@dataclass(frozen=True)
class QaPassed:
    task_id: str
    area: str
    dev_task_id: str
    attempt: int
    round: int
    summary: str


@dataclass(frozen=True)
class QaFailed:
    task_id: str
    area: str
    dev_task_id: str
    attempt: int
    round: int
    failures: tuple[str, ...]


@dataclass(frozen=True)
class TaskReworkRequested:
    task_id: str
    area: str
    attempt: int
    round: int
    reason: str


@dataclass(frozen=True)
class DevopsRequested:
    task_id: str
    area: str
    scope: Scope
    requirement_ids: tuple[str, ...]
    attempt: int
    round: int


@dataclass(frozen=True)
class DevopsDeployed:
    task_id: str
    area: str
    scope: Scope
    attempt: int
    round: int
    environment: str


@dataclass(frozen=True)
class DevopsFailed:
    task_id: str
    area: str
    scope: Scope
    attempt: int
    round: int
    reason: str


@dataclass(frozen=True)
class SmokePassed:
    task_id: str
    area: str
    scope: Scope
    attempt: int
    round: int


@dataclass(frozen=True)
class SmokeFailed:
    task_id: str
    area: str
    scope: Scope
    attempt: int
    round: int
    reason: str


@dataclass(frozen=True)
class TaskVerified:
    task_id: str
    area: str
    role: Role
    requirement_ids: tuple[str, ...]


@dataclass(frozen=True)
class TaskCancelled:
    task_id: str
    area: str
    reason: str


@dataclass(frozen=True)
class MonitorAlert:
    task_id: str
    area: str
    kind: AlertKind
    severity: Severity
    attempt: int
    round: int
    message: str


@dataclass(frozen=True)
class PmEscalated:
    """`kind` is the alert that escalated, for the CTO's rules; `reason` is for people.
    None: an escalation written before the field existed (the CTO applies its general rule)."""

    task_id: str
    area: str
    reason: str
    attempts: int
    kind: AlertKind | None = None


@dataclass(frozen=True)
class CtoDecided:
    task_id: str
    area: str
    decision: Decision
    reason: str


@dataclass(frozen=True)
class ModuleCompleted:
    area: str
    tasks: int


@dataclass(frozen=True)
class ModuleBlocked:
    area: str
    reason: str


@dataclass(frozen=True)
class ProjectCompleted:
    modules: tuple[str, ...]


@dataclass(frozen=True)
class ProjectBlocked:
    modules: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class ProjectPaused:
    """An operator paused the project: nothing new is claimed, the Monitor's clocks stop."""

    reason: str = ""


@dataclass(frozen=True)
class ProjectResumed:
    reason: str = ""


@dataclass(frozen=True)
class ProjectCancelled:
    """An operator cancelled the project: running work is stopped, the project ends."""

    reason: str = ""


@dataclass(frozen=True)
class ModulePaused:
    """An operator paused one module: its tasks claim nothing new, its clocks stop."""

    area: str
    reason: str = ""


@dataclass(frozen=True)
class ModuleResumed:
    area: str
    reason: str = ""


@dataclass(frozen=True)
class ModuleCancelled:
    """An operator cancelled one module: the PM cancels its open tasks and blocks it."""

    area: str
    reason: str = ""


@dataclass(frozen=True)
class ApprovalRequested:
    """A worker holds the work `gate` names until a person grants it (docs/flow.md)."""

    approval_id: str
    task_id: str
    area: str
    role: Role
    gate: str
    attempt: int
    round: int
    deadline_ms: int


@dataclass(frozen=True)
class ApprovalGranted:
    approval_id: str
    task_id: str
    area: str
    role: Role
    gate: str
    reason: str = ""


@dataclass(frozen=True)
class ApprovalRejected:
    """The gated work never happens: the PM blocks the module."""

    approval_id: str
    task_id: str
    area: str
    role: Role
    gate: str
    reason: str = ""


@dataclass(frozen=True)
class TaskReassigned:
    """An operator hands the task to another executor; a running claim is superseded."""

    task_id: str
    area: str
    role: Role
    executor: Executor
    reason: str = ""


@dataclass(frozen=True)
class ProjectSealed:
    """The head of the project's hash chain once it ended (services/projections/chain.py)."""

    head: str
    length: int
    last_event_id: str


@dataclass(frozen=True)
class RoleHired:
    """The CTO staffed an area of the project: `name` is who the org chart shows (`pm-web`)."""

    role: Role
    area: str
    name: str


@dataclass(frozen=True)
class RoleReleased:
    """The area's work ended (completed, blocked or cancelled): the role serves it no more."""

    role: Role
    area: str
    name: str
    reason: str = ""


Payload = (
    SpecSubmitted | SpecRejected | ProjectCreated | CharterCreated | ModulePlanned
    | BacklogCreated | TaskAssigned | TaskStarted | TaskHeartbeat | TaskCompleted | TaskFailed
    | QaRequested | QaPassed | QaFailed | TaskReworkRequested | DevopsRequested
    | DevopsDeployed | DevopsFailed | SmokePassed | SmokeFailed | TaskVerified
    | TaskCancelled | MonitorAlert | PmEscalated | CtoDecided | ModuleCompleted
    | ModuleBlocked | ProjectCompleted | ProjectBlocked | ProjectPaused | ProjectResumed
    | ProjectCancelled | ProjectSealed | TaskUsage | RoleHired | RoleReleased | ApprovalRequested
    | ApprovalGranted | ApprovalRejected | TaskReassigned | ModulePaused | ModuleResumed
    | ModuleCancelled
)
