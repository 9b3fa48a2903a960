"""The lease protocol the dev, qa and devops workers share: pure, per project.

A claim is `task.started` for one (attempt, round) of a task. Claims only move forward:
a trigger for an older attempt, for an (attempt, round) already claimed or finished, or
for a cancelled task claims nothing, so a late or replayed trigger never runs twice and
a zombie's completion of a superseded claim is never applied. Each role's decider keeps
this module's `State`, names the trigger and result types of its role, and adds its
trigger rules and its `finish`. A project's tasks are dropped when their module ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from orchestrator.core.envelope import Actor, Attachment, Event, derive_id, follow
from orchestrator.core.events import (
    Approval,
    ApprovalGranted,
    ApprovalRejected,
    ApprovalRequested,
    DevopsFailed,
    DevopsRequested,
    Executor,
    ModuleBlocked,
    ModuleCompleted,
    ModulePaused,
    ModuleResumed,
    ProjectCancelled,
    ProjectPaused,
    ProjectResumed,
    QaFailed,
    QaPassed,
    QaRequested,
    Role,
    Scope,
    SmokeFailed,
    SmokePassed,
    TaskAssigned,
    TaskCancelled,
    TaskCompleted,
    TaskFailed,
    TaskHeartbeat,
    TaskReassigned,
    TaskReworkRequested,
    TaskStarted,
    TaskUsage,
)

Key = tuple[int, int]  # (attempt, round)


@dataclass(frozen=True)
class Work:
    """What an executor runs for one claim."""

    project_id: str
    request_id: str
    task_id: str
    role: Role
    area: str
    attempt: int
    round: int
    requirement_ids: tuple[str, ...]
    title: str
    scope: Scope | None
    executor: Executor
    acceptance: tuple[str, ...] = ()  # the acceptance criteria of its requirements


@dataclass(frozen=True)
class Usage:
    """What one run consumed: model tokens, money (the executor's unit) and wall time."""

    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    seconds: float = 0.0


@dataclass(frozen=True)
class Outcome:
    """What an executor reports; the role's `finish` turns it into events."""

    ok: bool
    summary: str
    failures: tuple[str, ...] = ()
    smoke_ok: bool | None = None
    attachments: tuple[Attachment, ...] = ()
    usage: Usage = Usage()  # the shell fills in `seconds` when the executor did not


# -- per task phases ------------------------------------------------------------------


@dataclass(frozen=True)
class Open:
    """No live claim: never claimed, or waiting for the next trigger."""


@dataclass(frozen=True)
class Claimed:
    started: Event
    trigger: Event | None  # what caused the claim: carries scope, dev task, requirements


@dataclass(frozen=True)
class Finished:
    started: Event


@dataclass(frozen=True)
class Cancelled:
    """Terminal: the PM cancelled the task."""


Phase = Open | Claimed | Finished | Cancelled


@dataclass(frozen=True)
class Task:
    spec: TaskAssigned  # the latest assignment: executor, requirements, lease
    phase: Phase = Open()
    last: Key | None = None  # the latest claim
    max_round: int = -1  # highest round claimed or requested, over every attempt
    triggers: dict[str, Event] = field(default_factory=dict)  # by id, awaiting their claim
    gates: dict[str, str] = field(default_factory=dict)  # gate -> requested | granted | rejected


@dataclass(frozen=True)
class State:
    me: Actor
    tasks: dict[str, Task] = field(default_factory=dict)
    ended: frozenset[str] = frozenset()  # areas whose module completed or was blocked
    paused: bool = False  # the project is paused: triggers wait, nothing new is claimed
    paused_areas: frozenset[str] = frozenset()  # modules paused on their own: the same, per area
    cancelled: bool = False  # the project is cancelled: every run stops, nothing is left


def initial_state(me: Actor) -> State:
    return State(me)


Trigger = TaskReworkRequested | QaRequested | DevopsRequested
Result = TaskCompleted | TaskFailed | QaPassed | QaFailed | DevopsFailed | SmokePassed | SmokeFailed


def interests(trigger: type[Trigger], results: tuple[type[Result], ...]) -> frozenset[type]:
    """What a worker of a role folds: its assignments, triggers, claims and results."""
    return frozenset({TaskAssigned, trigger, TaskStarted, TaskCancelled, *results,
                      ModuleCompleted, ModuleBlocked, ProjectPaused, ProjectResumed,
                      ProjectCancelled, ApprovalRequested, ApprovalGranted, ApprovalRejected,
                      TaskReassigned, ModulePaused, ModuleResumed})


def evolve(state: State, event: Event, trigger: type[Trigger], results: tuple[type[Result], ...]) -> State:
    """The fold every worker shares; `trigger` and `results` are its role's event types."""
    if not mine(state, event):
        return state
    p = event.payload
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
        case TaskAssigned():
            task = state.tasks.get(p.task_id)
            if task is None and p.area in state.ended:
                return state
            if task is None:
                return _put(state, Task(p, triggers={event.event_id: event}))
            if p.attempt > task.spec.attempt and not isinstance(task.phase, Cancelled):
                return _put(state, replace(task, spec=p, triggers=_add(task, event)))
            return state
        case ModuleCompleted() | ModuleBlocked():
            tasks = {tid: t for tid, t in state.tasks.items() if t.spec.area != p.area}
            return replace(state, tasks=tasks, ended=state.ended | {p.area},
                           paused_areas=state.paused_areas - {p.area})
        case TaskStarted() if p.task_id in state.tasks:
            task = state.tasks[p.task_id]
            task = replace(task, max_round=max(task.max_round, p.round))
            if not claimable(task, p.attempt, p.round):
                return _put(state, task)
            trigger_event = task.triggers.get(event.causation_id or "")
            if trigger_event is None and isinstance(task.phase, Claimed):
                trigger_event = task.phase.trigger  # a hand-off re-claims the same work
            rest = {i: t for i, t in task.triggers.items() if i != event.causation_id}
            claimed = Claimed(event, trigger_event)
            return _put(state, replace(task, phase=claimed, last=(p.attempt, p.round), triggers=rest))
        case TaskCancelled() if p.task_id in state.tasks:
            return _put(state, replace(state.tasks[p.task_id], phase=Cancelled(), triggers={}))
        case ApprovalRequested() | ApprovalGranted() | ApprovalRejected() if p.task_id in state.tasks:
            return _put(state, _gate(state.tasks[p.task_id], p))
        case TaskReassigned() if p.task_id in state.tasks:
            task = state.tasks[p.task_id]
            return _put(state, replace(task, spec=replace(task.spec, executor=p.executor)))
        case TaskReworkRequested() | QaRequested() | DevopsRequested() if (
            isinstance(p, trigger) and p.task_id in state.tasks
        ):
            task = state.tasks[p.task_id]
            task = replace(task, max_round=max(task.max_round, p.round))
            if claimable(task, p.attempt, p.round):
                task = replace(task, triggers=_add(task, event))
            return _put(state, task)
        case (
            TaskCompleted() | TaskFailed() | QaPassed() | QaFailed() | DevopsFailed()
            | SmokePassed() | SmokeFailed()
        ) if isinstance(p, results) and p.task_id in state.tasks:
            task = state.tasks[p.task_id]
            match task.phase:
                case Claimed(started=started) if _key(started) == (p.attempt, p.round):
                    return _put(state, replace(task, phase=Finished(started)))
                case _:
                    return state
        case _:
            return state


def mine(state: State, event: Event) -> bool:
    """Not another area's or another role's task (the shell skips those by header too)."""
    p = event.payload
    return in_area(state, getattr(p, "area", None)) and getattr(p, "role", state.me.role) == state.me.role


def is_terminal(state: State) -> bool:
    """Every module this worker served has ended, or the project was cancelled."""
    return state.cancelled or (bool(state.ended) and not state.tasks)


def claim(
    state: State, trigger: Event, task_id: str, attempt: int, round: int, lease_ms: int
) -> list[Event]:
    """`task.started` for (attempt, round) of `task_id`, or nothing if it is not claimable now.

    A later round of an attempt whose claim still runs waits for it (`next_claim`): a
    partial deployment is carried out before the total one, never dropped mid-way.
    """
    task = state.tasks.get(task_id)
    spec = task.spec if task is not None else trigger.payload
    if state.paused or state.cancelled or held(state, getattr(spec, "area", None)):
        return []  # the trigger waits among the task's triggers until the project (module) resumes
    if task is not None and (not claimable(task, attempt, round) or busy(task, attempt)):
        return []
    if not isinstance(spec, TaskAssigned):
        return []
    return _claim_or_ask(state, task or Task(spec), trigger, attempt, round)


def _claim_or_ask(state: State, task: Task, trigger: Event, attempt: int, round: int) -> list[Event]:
    """The claim, or while a gate of the policy holds it, the request to open that gate.

    The trigger stays among the task's triggers: `approval.granted` claims it then.
    """
    spec = task.spec
    closed = [g for g in gates_of(spec, trigger) if task.gates.get(g.before) != "granted"]
    if not closed:
        started = TaskStarted(spec.task_id, spec.area, state.me.role, attempt, round, spec.lease_ms)
        return [follow(trigger, started, state.me, spec.task_id, attempt, round)]
    gate = closed[0]
    if gate.before in task.gates:
        return []  # requested and unanswered, or rejected: the work waits or never comes
    aid = approval_id(trigger.project_id, spec.task_id, gate.before)
    asked = ApprovalRequested(aid, spec.task_id, spec.area, state.me.role, gate.before, attempt,
                              round, gate.deadline_ms)
    return [follow(trigger, asked, state.me, aid)]


def approval_id(project_id: str, task_id: str, gate: str) -> str:
    """One approval per task and gate: granted once, it holds for every later attempt."""
    return derive_id(project_id, "approval", task_id, gate)


def gates_of(spec: TaskAssigned, trigger: Event) -> list[Approval]:
    """The task's gates that hold this trigger's claim: its role's gate on the task's first
    claim, a deployment's gate on a `devops.requested` of that scope."""
    p = trigger.payload
    scope = f"deployment_{p.scope.value}" if isinstance(p, DevopsRequested) else None
    return [g for g in spec.approvals if g.before in (spec.role.value, scope)]


def _asked(state: State, task_id: str, gate: str) -> bool:
    task = state.tasks.get(task_id)
    return task is not None and task.gates.get(gate) == "requested"


def _gate(task: Task, p: ApprovalRequested | ApprovalGranted | ApprovalRejected) -> Task:
    match p:
        case ApprovalRequested(gate=gate):
            return replace(task, gates={gate: "requested", **task.gates})  # an answer stays
        case _:
            status = "granted" if isinstance(p, ApprovalGranted) else "rejected"
            if task.gates.get(p.gate) != "requested":
                return task
            return replace(task, gates={**task.gates, p.gate: status})


def busy(task: Task, attempt: int) -> bool:
    return isinstance(task.phase, Claimed) and _key(task.phase.started)[0] == attempt


def next_claim(state: State, started: Event, trigger: type[Trigger]) -> list[Event]:
    """After the result of `started`: the claim of the newest trigger that waited for it."""
    task = state.tasks.get(_task_id(started))
    attempt, round = _key(started)
    if task is None or state.paused or held(state, task.spec.area):
        return []
    waiting = [t for t in task.triggers.values() if isinstance(t.payload, trigger)
               and t.payload.attempt == attempt and t.payload.round > round
               and claimable(task, t.payload.attempt, t.payload.round)]
    if not waiting:
        return []
    newest = max(waiting, key=lambda t: getattr(t.payload, "round", 0))
    p = newest.payload
    assert isinstance(p, TaskReworkRequested | QaRequested | DevopsRequested)
    return _claim_or_ask(state, task, newest, p.attempt, p.round)


def operated(state: State, event: Event, kinds: tuple[type, ...]) -> list[Event]:
    """An operator's word to a worker: what it claims, every role alike.

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
        case ApprovalGranted(task_id=tid) as p if _asked(state, tid, p.gate) and not (
            state.paused or held(state, p.area)
        ):
            return resume_claims(_put(state, _gate(state.tasks[tid], p)), kinds, tid)
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
            out.extend(_claim_or_ask(state, task, newest, task.spec.attempt, round))
    return out


def hand_off(state: State, event: Event, p: TaskReassigned) -> list[Event]:
    """A running claim handed to another executor: a new claim of the same attempt, in a
    new round, supersedes it; the old run is stopped and its late result matches nothing.

    A QA claim is not re-claimed: its round is the dev task's, which its result must name;
    the new executor takes its next claim. An idle task's next claim uses it anyway.
    """
    task = state.tasks.get(p.task_id)
    if task is None or not busy(task, task.spec.attempt) or p.role is Role.QA:
        return []
    if p.executor == task.spec.executor:
        return []  # a hand-off while paused re-claims too: the work was running, it is not new
    spec, round = task.spec, task.max_round + 1
    started = TaskStarted(spec.task_id, spec.area, state.me.role, spec.attempt, round, spec.lease_ms)
    return [follow(event, started, state.me, spec.task_id, spec.attempt, round)]


def held(state: State, area: str | None) -> bool:
    """The module of `area` is paused on its own: its triggers wait, as a paused project's do."""
    return area is not None and area in state.paused_areas


def claimable(task: Task, attempt: int, round: int) -> bool:
    if isinstance(task.phase, Cancelled) or attempt < task.spec.attempt:
        return False
    return task.last is None or (attempt, round) > task.last


def heartbeat(started: Event, seq: int, me: Actor) -> Event:
    """The `seq`-th heartbeat of a claim; the shell stamps the time it is sent."""
    p = started.payload
    assert isinstance(p, TaskStarted), "heartbeat of a task.started only"
    beat = TaskHeartbeat(p.task_id, p.area, p.role, p.attempt, p.round, seq)
    return follow(started, beat, me, seq)


def usage(started: Event, outcome: Outcome, me: Actor) -> Event:
    """`task.usage` of the run `started` claimed: reported with its result."""
    p = started.payload
    assert isinstance(p, TaskStarted), "usage of a task.started only"
    u = outcome.usage
    spent = TaskUsage(p.task_id, p.area, p.role, p.attempt, p.round, u.tokens_in, u.tokens_out,
                      u.cost, u.seconds)
    return follow(started, spent, me, "usage")


def lease_of(started: Event) -> int:
    """How long a claim may go without a heartbeat before the Monitor calls it silent."""
    p = started.payload
    assert isinstance(p, TaskStarted), "the lease of a task.started only"
    return p.lease_ms


def unfinished(state: State) -> list[Event]:
    """The claims of current attempts not finished yet: the shell runs them again."""
    return [
        task.phase.started
        for _, task in sorted(state.tasks.items())
        if isinstance(task.phase, Claimed) and _key(task.phase.started)[0] == task.spec.attempt
    ]


def live(state: State, started: Event) -> Claimed | None:
    """The claim `started` made, if it is still the task's current and unfinished one."""
    task = state.tasks.get(_task_id(started))
    if task is None:
        return None
    match task.phase:
        case Claimed() as claimed if claimed.started.event_id == started.event_id:
            return claimed if _key(started)[0] == task.spec.attempt else None
        case _:
            return None


def work_of(state: State, started: Event) -> Work:
    p = started.payload
    assert isinstance(p, TaskStarted), "work of a task.started only"
    task = state.tasks.get(p.task_id)
    spec = task.spec if task is not None else None
    claimed = live(state, started)
    trigger = claimed.trigger.payload if claimed and claimed.trigger else None
    requirement_ids = spec.requirement_ids if spec else ()
    scope = None
    match trigger:
        case DevopsRequested() as t:
            requirement_ids, scope = t.requirement_ids, t.scope
        case QaRequested() as t:
            requirement_ids = t.requirement_ids
        case _:
            pass
    return Work(
        project_id=started.project_id,
        request_id=started.request_id,
        task_id=p.task_id,
        role=p.role,
        area=p.area,
        attempt=p.attempt,
        round=p.round,
        requirement_ids=requirement_ids,
        title=spec.title if spec else p.task_id,
        scope=scope,
        executor=spec.executor if spec else Executor(p.role),
        acceptance=spec.acceptance if spec else (),
    )


def in_area(state: State, area: str | None) -> bool:
    return state.me.area is None or area is None or state.me.area == area


def next_round(state: State, task_id: str) -> int:
    """Rounds keep counting across attempts, so a re-run never reuses a finished key."""
    task = state.tasks.get(task_id)
    return 0 if task is None else task.max_round + 1


def _key(started: Event) -> Key:
    p = started.payload
    assert isinstance(p, TaskStarted)
    return (p.attempt, p.round)


def _task_id(started: Event) -> str:
    return getattr(started.payload, "task_id", "")


def _add(task: Task, trigger: Event) -> dict[str, Event]:
    return {**task.triggers, trigger.event_id: trigger}


def _put(state: State, task: Task) -> State:
    return replace(state, tasks={**state.tasks, task.spec.task_id: task})
