"""Monitor per area: follows the tasks, triggers QA and DevOps, verifies, alerts (docs/flow.md).

A process: each task is `Waiting` for its trigger, `Running` (deadline from the trigger,
lease from the latest beat), `Done` for its round, `Verified` or `Cancelled`. Only events
of a task's current (attempt, round) count, so zombie completions never double-apply.
Budgets: what each run reported (`task.usage`, one entry per (task, attempt, round), so a
replay changes no sum) is summed per task and per module against `policy.budgets`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from orchestrator.core.envelope import Actor, Event, Tick, follow
from orchestrator.core.events import (
    AlertKind,
    ApprovalGranted,
    ApprovalRejected,
    ApprovalRequested,
    BacklogCreated,
    Budget,
    Budgets,
    DevopsFailed,
    DevopsRequested,
    ModuleBlocked,
    ModuleCompleted,
    ModulePaused,
    ModulePlanned,
    ModuleResumed,
    MonitorAlert,
    Policy,
    ProjectCancelled,
    ProjectPaused,
    ProjectResumed,
    QaFailed,
    QaPassed,
    QaRequested,
    Role,
    Scope,
    Severity,
    SmokeFailed,
    SmokePassed,
    TaskAssigned,
    TaskCancelled,
    TaskCompleted,
    TaskFailed,
    TaskHeartbeat,
    TaskReworkRequested,
    TaskStarted,
    TaskUsage,
    TaskVerified,
    paired_task,
)


@dataclass(frozen=True)
class Waiting:
    """Assigned but not triggered: QA before its dev task completes, DevOps before a request."""


@dataclass(frozen=True)
class Running:
    since: int  # when triggered: the deadline counts from here
    cause: Event  # the trigger: the cause of this round's timer alerts
    beat: int | None = None  # latest task.started / task.heartbeat; None until claimed


@dataclass(frozen=True)
class Done:
    ok: bool


@dataclass(frozen=True)
class Verified:
    pass


@dataclass(frozen=True)
class Cancelled:
    pass


Phase = Waiting | Running | Done | Verified | Cancelled


@dataclass(frozen=True)
class Track:
    spec: TaskAssigned  # the current attempt's assignment
    round: int = 0
    phase: Phase = Waiting()
    max_round: int = -1  # over every attempt: a re-assigned dev task goes on from here
    qa_failures: int = 0  # of a dev task, over every attempt
    alerted: frozenset[tuple[str, int, int]] = frozenset()  # (kind, attempt, round)


@dataclass(frozen=True)
class Area:
    max_attempts: int = Policy().max_attempts
    requirement_ids: tuple[str, ...] = ()
    budgets: Budgets = field(default_factory=Budgets)


@dataclass(frozen=True)
class Spent:
    tokens: int = 0
    cost: float = 0.0
    seconds: float = 0.0

    def __add__(self, other: Spent) -> Spent:
        return Spent(self.tokens + other.tokens, self.cost + other.cost, self.seconds + other.seconds)


Run = tuple[str, str, int, int]  # (area, task id, attempt, round)


@dataclass(frozen=True)
class Asked:
    """An `approval.requested` not answered yet: its deadline counts from `since`."""

    since: int
    cause: Event
    request: ApprovalRequested


@dataclass(frozen=True)
class State:
    me: Actor
    areas: dict[str, Area] = field(default_factory=dict)
    tasks: dict[str, Track] = field(default_factory=dict)
    spent: dict[Run, Spent] = field(default_factory=dict)  # what each run reported
    ended: frozenset[str] = frozenset()  # areas whose module completed or was blocked
    paused_at: int | None = None  # the project is paused since: every clock stands still
    cancelled: bool = False
    approvals: dict[str, Asked] = field(default_factory=dict)  # unanswered, by approval id
    # modules paused on their own: since when each one's clocks stand still
    paused_areas: dict[str, int] = field(default_factory=dict)


interests = frozenset({
    ModulePlanned, BacklogCreated, TaskAssigned, TaskStarted, TaskHeartbeat, QaRequested,
    DevopsRequested, TaskReworkRequested, TaskCompleted, TaskFailed, QaPassed, QaFailed,
    DevopsFailed, SmokePassed, SmokeFailed, TaskVerified, TaskCancelled, MonitorAlert,
    ModuleCompleted, ModuleBlocked, ProjectPaused, ProjectResumed, ProjectCancelled, TaskUsage,
    ApprovalRequested, ApprovalGranted, ApprovalRejected, ModulePaused, ModuleResumed,
})


def initial_state(me: Actor) -> State:
    return State(me)


def is_terminal(state: State) -> bool:
    """Every module this Monitor follows has ended, or the project was cancelled."""
    return state.cancelled or (bool(state.areas) and set(state.areas) <= state.ended)


def due(state: State) -> int | None:
    """The earliest lease or deadline not yet alerted: when a tick may raise an alert."""
    if state.paused_at is not None:
        return None  # paused: no clock runs
    found = [at for track in state.tasks.values() if not _held(state, track) for at in _due_times(track)]
    found += [a.since + a.request.deadline_ms for a in state.approvals.values()
              if not _approval_alerted(state, a) and a.request.area not in state.paused_areas]
    return min(found, default=None)


def decide(state: State, event: Event | Tick) -> list[Event]:
    match event:
        case Tick() if state.paused_at is not None:
            return []
        case Tick(now=now):
            return [*(a for _, t in sorted(state.tasks.items()) if not _held(state, t)
                      for a in _timers(state, t, now)), *_approval_timers(state, now)]
        case Event() if not _mine(state, event):
            return []
        case Event(payload=TaskAssigned() as p) if _reassigned(state, p) or _late(state, p):
            return _retrigger(state, event, p)
        case Event(payload=TaskCompleted(role=Role.DEV) as p) if _live(state, p):
            qa = _qa_of(state, state.tasks[p.task_id])
            if qa is None or isinstance(qa.phase, Verified | Cancelled):
                return []
            return [_qa_request(state, event, qa, state.tasks[p.task_id])]
        case Event(payload=QaPassed() as p) if _live(state, p) and _dev_done(state, p):
            dev = state.tasks[p.dev_task_id]
            verified = TaskVerified(dev.spec.task_id, p.area, Role.DEV, dev.spec.requirement_ids)
            return [follow(event, verified, state.me), *_deploy_after(state, event, dev)]
        case Event(payload=QaFailed() as p) if _live(state, p) and _dev_done(state, p):
            dev = state.tasks[p.dev_task_id]
            if dev.qa_failures + 1 >= _area(state, p.area).max_attempts:
                text = f"QA failed {dev.qa_failures + 1} times: {', '.join(p.failures)}"
                return _alert(state, event, dev, AlertKind.REPEATED_QA_FAILURE, text)
            reason = "QA failed: " + ", ".join(p.failures)
            rework = TaskReworkRequested(p.dev_task_id, p.area, dev.spec.attempt, p.round + 1, reason)
            return [follow(event, rework, state.me)]
        case Event(payload=SmokePassed(scope=Scope.TOTAL) as p) if _live(state, p):
            track = state.tasks[p.task_id]
            reqs = _area(state, p.area).requirement_ids or track.spec.requirement_ids
            return [follow(event, TaskVerified(p.task_id, p.area, Role.DEVOPS, reqs), state.me)]
        case Event(payload=DevopsFailed() as p) if _live(state, p):
            text = f"deploy ({p.scope}) failed: {p.reason}"
            return _alert(state, event, state.tasks[p.task_id], AlertKind.DEPLOY_FAILED, text)
        case Event(payload=SmokeFailed() as p) if _live(state, p):
            text = f"smoke tests ({p.scope}) failed: {p.reason}"
            return _alert(state, event, state.tasks[p.task_id], AlertKind.SMOKE_FAILED, text)
        case Event(payload=TaskFailed() as p) if _live(state, p):
            text = f"task failed: {p.reason}"
            return _alert(state, event, state.tasks[p.task_id], AlertKind.TASK_FAILED, text)
        case Event(payload=TaskUsage() as p):
            return _budget_alerts(state, event, p)
        case _:
            return []


def evolve(state: State, event: Event) -> State:
    t = event.occurred_at
    match event.payload:
        case ProjectPaused() if state.paused_at is None:
            return replace(state, paused_at=t)
        case ProjectResumed() if state.paused_at is not None:
            return _resumed(state, state.paused_at, t)
        case ModulePaused(area=area) if _mine(state, event) and area not in state.paused_areas:
            return replace(state, paused_areas={**state.paused_areas, area: t})
        case ModuleResumed(area=area) if _mine(state, event) and area in state.paused_areas:
            return _module_resumed(state, area, t)
        case ProjectCancelled():
            return replace(state, tasks={}, cancelled=True, approvals={})
        case _:
            return _evolve_task(state, event, t) if _mine(state, event) else state


def _resumed(state: State, paused_at: int, now: int) -> State:
    """Deadlines move on by the time paused (since the trigger, if it came while paused);
    leases start afresh, since nothing could beat in between claims.

    A module still paused on its own keeps its clocks stopped: its stop now counts from the
    earlier of the two pauses, and its own resume moves its deadlines on."""
    held = {a: min(since, paused_at) for a, since in state.paused_areas.items()}
    state = _shifted(state, lambda area: area not in held, paused_at, now)
    return replace(state, paused_at=None, paused_areas=held)


def _module_resumed(state: State, area: str, now: int) -> State:
    """One module's clocks go on: its deadlines move on by the time it was paused; while
    the project is still paused, only up to the project's pause (the project's resume
    moves them on from there)."""
    until = now if state.paused_at is None else max(state.paused_at, state.paused_areas[area])
    state = _shifted(state, lambda a: a == area, state.paused_areas[area], until)
    return replace(state, paused_areas={a: s for a, s in state.paused_areas.items() if a != area})


def _shifted(state: State, which: Callable[[str], bool], stopped_at: int, now: int) -> State:
    """The running clocks of the areas `which` selects, moved on by the time they stood
    still between `stopped_at` (or their trigger, if later) and `now`; leases start afresh."""
    tasks = {}
    for tid, track in state.tasks.items():
        if isinstance(track.phase, Running) and which(track.spec.area):
            r = track.phase
            since = r.since + max(0, now - max(r.since, stopped_at))
            beat = None if r.beat is None else max(r.beat, now)
            track = replace(track, phase=replace(r, since=since, beat=beat))
        tasks[tid] = track
    approvals = {i: replace(a, since=a.since + max(0, now - max(a.since, stopped_at)))
                 if which(a.request.area) else a for i, a in state.approvals.items()}
    return replace(state, tasks=tasks, approvals=approvals)


def _evolve_task(state: State, event: Event, t: int) -> State:
    match event.payload:
        case ModuleCompleted() | ModuleBlocked() as p:
            tasks = {tid: track for tid, track in state.tasks.items() if track.spec.area != p.area}
            spent = {run: s for run, s in state.spent.items() if run[0] != p.area}
            approvals = {i: a for i, a in state.approvals.items() if a.request.area != p.area}
            paused = {a: since for a, since in state.paused_areas.items() if a != p.area}
            return replace(state, tasks=tasks, spent=spent, ended=state.ended | {p.area},
                           approvals=approvals, paused_areas=paused)
        case ApprovalRequested() as p if p.task_id in state.tasks and p.approval_id not in state.approvals:
            return replace(state, approvals={**state.approvals, p.approval_id: Asked(t, event, p)})
        case ApprovalGranted() | ApprovalRejected() as p if p.approval_id in state.approvals:
            waited = t - state.approvals[p.approval_id].since
            state = replace(state, approvals={a: w for a, w in state.approvals.items() if a != p.approval_id})
            track = state.tasks.get(p.task_id)
            if track is None or not isinstance(track.phase, Running):
                return state
            return _put(state, replace(track, phase=replace(track.phase, since=track.phase.since + waited)))
        case ModulePlanned() as p:
            reqs = tuple(r.id for r in p.requirements)
            return _set_area(state, p.area, Area(p.policy.max_attempts, reqs, p.policy.budgets))
        case TaskUsage() as p:
            return replace(state, spent=_with_usage(state.spent, p))
        case BacklogCreated() as p:
            reqs = tuple(dict.fromkeys(r for b in p.tasks if b.role == Role.DEV for r in b.requirement_ids))
            return _set_area(state, p.area, replace(_area(state, p.area), requirement_ids=reqs))
        case TaskAssigned() as p:
            old = state.tasks.get(p.task_id)
            if old is not None and (p.attempt <= old.spec.attempt or _finished(old)):
                return state
            track = old or Track(p)
            if p.role != Role.DEV:
                return _put(state, replace(track, spec=p, round=0, phase=Waiting()))
            round = 0 if old is None else old.max_round + 1
            return _put(state, replace(track, spec=p, round=round, phase=Running(t, event)))
        case TaskStarted() as p if p.task_id in state.tasks:
            track = _bump(state.tasks[p.task_id], p.round)
            match track.phase:
                case Running() as r if p.attempt == track.spec.attempt and p.round >= track.round:
                    return _put(state, replace(track, round=p.round, phase=replace(r, beat=t)))
                case _:
                    return _put(state, track)
        case TaskHeartbeat() as p if _live(state, p):
            track = state.tasks[p.task_id]
            assert isinstance(track.phase, Running)
            beat = max(track.phase.beat or t, t)
            return _put(state, replace(track, phase=replace(track.phase, beat=beat)))
        case QaRequested() | DevopsRequested() | TaskReworkRequested() as p if p.task_id in state.tasks:
            track = _bump(state.tasks[p.task_id], p.round)
            if p.attempt != track.spec.attempt:
                return _put(state, track)
            return _put(state, replace(track, round=p.round, phase=Running(t, event)))
        case TaskCompleted() | DevopsFailed() | SmokeFailed() | SmokePassed() | TaskFailed() as p:
            if not _live(state, p):
                return state
            ok = isinstance(p, TaskCompleted | SmokePassed)
            return _put(state, replace(state.tasks[p.task_id], phase=Done(ok)))
        case QaPassed() | QaFailed() as p if _live(state, p) and _dev_done(state, p):
            state = _put(state, replace(state.tasks[p.task_id], phase=Done(isinstance(p, QaPassed))))
            if isinstance(p, QaPassed):
                return state
            dev = state.tasks[p.dev_task_id]
            return _put(state, replace(dev, qa_failures=dev.qa_failures + 1))
        case TaskVerified() as p if p.task_id in state.tasks:
            return _put(state, replace(state.tasks[p.task_id], phase=Verified()))
        case TaskCancelled() as p if p.task_id in state.tasks:
            return _put(state, replace(state.tasks[p.task_id], phase=Cancelled()))
        case MonitorAlert() as p if p.task_id in state.tasks:
            track = state.tasks[p.task_id]
            alerted = track.alerted | {(p.kind.value, p.attempt, p.round)}
            return _put(state, replace(track, alerted=alerted))
        case _:
            return state


# -- rules ----------------------------------------------------------------------------


def _retrigger(state: State, event: Event, p: TaskAssigned) -> list[Event]:
    """A (re-)assignment sends the trigger the attempt needs, when it is already due."""
    old = state.tasks.get(p.task_id)
    track = Track(spec=p) if old is None else replace(old, spec=p, phase=Waiting())
    match p.role:
        case Role.QA:
            dev = _dev_of(state, track)
            done = dev is not None and isinstance(dev.phase, Done) and dev.phase.ok
            return [_qa_request(state, event, track, dev)] if dev and done else []
        case Role.DEVOPS:
            reqs = _area(state, p.area).requirement_ids
            if reqs and set(reqs) <= _verified(state, p.area):
                return [_devops_request(state, event, track, Scope.TOTAL, reqs)]
            return []
        case _:
            return []


def _deploy_after(state: State, event: Event, dev: Track) -> list[Event]:
    """After a verification: the first of several requirements deploys partially, the last totally."""
    area = dev.spec.area
    devops = next((t for t in _area_tasks(state, area) if t.spec.role == Role.DEVOPS), None)
    if devops is None or isinstance(devops.phase, Verified | Cancelled):
        return []
    before = _verified(state, area)
    after = before | set(dev.spec.requirement_ids)
    reqs = _area(state, area).requirement_ids or tuple(sorted(after))
    if set(reqs) <= after:
        return [_devops_request(state, event, devops, Scope.TOTAL, reqs)]
    if not before and len(reqs) > 1:
        partial = tuple(r for r in reqs if r in after)
        return [_devops_request(state, event, devops, Scope.PARTIAL, partial)]
    return []


def _timers(state: State, track: Track, now: int) -> list[Event]:
    match track.phase:
        case Running(since=since, cause=cause, beat=beat):
            late: list[tuple[AlertKind, str]] = []
            if beat is not None and now - beat >= track.spec.lease_ms:
                late.append((AlertKind.SILENT_WORKER, f"no heartbeat for {now - beat} ms"))
            if now - since >= track.spec.deadline_ms:
                late.append((AlertKind.DEADLINE_MISSED, f"not finished {now - since} ms after trigger"))
            alerts = [a for kind, text in late for a in _alert(state, cause, track, kind, text)]
            return [replace(a, occurred_at=now) for a in alerts]
        case _:
            return []


def _approval_timers(state: State, now: int) -> list[Event]:
    """An approval unanswered past its deadline: one `approval_overdue` alert (the PM waits)."""
    out = []
    for aid, asked in sorted(state.approvals.items()):
        if asked.request.area in state.paused_areas:
            continue  # its module is paused: the deadline stands still
        r, waited = asked.request, now - asked.since
        if waited >= r.deadline_ms and not _approval_alerted(state, asked):
            text = f"approval {aid} ({r.gate}) unanswered {waited} ms after it was asked"
            alert = MonitorAlert(r.task_id, r.area, AlertKind.APPROVAL_OVERDUE, Severity.WARNING,
                                 r.attempt, r.round, text)
            kind = AlertKind.APPROVAL_OVERDUE.value
            out.append(replace(follow(asked.cause, alert, state.me, kind, aid), occurred_at=now))
    return out


def _held(state: State, track: Track) -> bool:
    """Waiting for a person's approval, or its module paused on its own: the task's own
    clocks stand still meanwhile."""
    return track.spec.area in state.paused_areas or any(
        a.request.task_id == track.spec.task_id for a in state.approvals.values())


def _approval_alerted(state: State, asked: Asked) -> bool:
    r = asked.request
    track = state.tasks.get(r.task_id)
    return track is None or (AlertKind.APPROVAL_OVERDUE.value, r.attempt, r.round) in track.alerted


def _due_times(track: Track) -> list[int]:
    """The times `_timers` would alert this track at, unless already alerted."""
    match track.phase:
        case Running(since=since, beat=beat):
            key = (track.spec.attempt, track.round)
            out = []
            if beat is not None and (AlertKind.SILENT_WORKER.value, *key) not in track.alerted:
                out.append(beat + track.spec.lease_ms)
            if (AlertKind.DEADLINE_MISSED.value, *key) not in track.alerted:
                out.append(since + track.spec.deadline_ms)
            return out
        case _:
            return []


def _alert(state: State, cause: Event, track: Track, kind: AlertKind, text: str) -> list[Event]:
    attempt, round = track.spec.attempt, track.round
    if (kind.value, attempt, round) in track.alerted:
        return []
    critical = kind == AlertKind.REPEATED_QA_FAILURE
    severity = Severity.CRITICAL if critical else Severity.WARNING
    alert = MonitorAlert(track.spec.task_id, track.spec.area, kind, severity, attempt, round, text)
    return [follow(cause, alert, state.me, kind.value, track.spec.task_id, attempt, round)]


def _budget_alerts(state: State, cause: Event, p: TaskUsage) -> list[Event]:
    """An alert per budget (the task's, the module's) whose level this usage raised:
    `warning` past `warn_at` of a limit, `critical` (the PM escalates, the CTO blocks) at it.
    A replayed report raises nothing."""
    budgets = _area(state, p.area).budgets
    after = _with_usage(state.spent, p)
    out, target = [], _budget_target(state, p)
    fresh = (p.area, p.task_id, p.attempt, p.round) not in state.spent
    scopes = ((f"task {p.task_id}", budgets.task, lambda run: run[1] == p.task_id),
              (f"module {p.area}", budgets.module, lambda run: run[0] == p.area))
    for name, limit, counts in scopes:
        total = sum((s for run, s in after.items() if counts(run)), Spent())
        before = sum((s for run, s in state.spent.items() if counts(run)), Spent())
        level, was = _level(total, limit, budgets.warn_at), _level(before, limit, budgets.warn_at)
        # every further run over an exhausted budget is critical again: the stop may have
        # met a task whose escalation was pending, or one no longer open
        if target is not None and (level > was or (level == 2 and fresh)):
            severity = Severity.CRITICAL if level == 2 else Severity.WARNING
            what = "exhausted" if level == 2 else f"past {budgets.warn_at:.0%}"
            text = f"{name} budget {what}: {_usage_text(total, limit)}"
            alert = MonitorAlert(target.spec.task_id, p.area, AlertKind.BUDGET, severity,
                                 target.spec.attempt, target.round, text)
            out.append(follow(cause, alert, state.me, "budget", name, level))
    return out


def _level(total: Spent, limit: Budget, warn_at: float) -> int:
    """0 within budget, 1 past the warning share of some limit, 2 at or over a limit."""
    shares = [used / cap for used, cap in ((total.tokens, limit.tokens), (total.cost, limit.cost),
                                           (total.seconds, limit.seconds)) if cap > 0]
    worst = max(shares, default=0.0)
    return 2 if worst >= 1 else 1 if worst >= warn_at else 0


def _usage_text(total: Spent, limit: Budget) -> str:
    parts = [f"{label} {used:g} of {cap:g}" for label, used, cap in (
        ("tokens", total.tokens, limit.tokens), ("cost", round(total.cost, 6), limit.cost),
        ("seconds", round(total.seconds, 3), limit.seconds)) if cap > 0]
    return ", ".join(parts)


def _budget_target(state: State, p: TaskUsage) -> Track | None:
    """The task the alert names: the one that spent, while open, else an open one of its area
    (the PM stops work by escalating an open task)."""
    candidates = [state.tasks[p.task_id]] if p.task_id in state.tasks else []
    candidates += [t for _, t in sorted(state.tasks.items()) if t.spec.area == p.area]
    open_ = [t for t in candidates if _open(state, t)]
    return next(iter(open_ or candidates), None)


def _open(state: State, track: Track) -> bool:
    """Still to verify: not verified or cancelled, nor a QA task whose dev task was verified."""
    if _finished(track):
        return False
    dev = _dev_of(state, track) if track.spec.role == Role.QA else None
    return dev is None or not isinstance(dev.phase, Verified)


def _with_usage(spent: dict[Run, Spent], p: TaskUsage) -> dict[Run, Spent]:
    run = (p.area, p.task_id, p.attempt, p.round)
    return {**spent, run: Spent(p.tokens_in + p.tokens_out, p.cost, p.seconds)}


def _qa_request(state: State, cause: Event, qa: Track, dev: Track) -> Event:
    request = QaRequested(qa.spec.task_id, qa.spec.area, dev.spec.task_id,
                          dev.spec.requirement_ids, qa.spec.attempt, dev.round)
    return follow(cause, request, state.me, qa.spec.task_id, qa.spec.attempt, dev.round)


def _devops_request(
    state: State, cause: Event, devops: Track, scope: Scope, reqs: tuple[str, ...]
) -> Event:
    # Each request of an attempt is a new round: partial then total never share a claim.
    round = 0 if isinstance(devops.phase, Waiting) else devops.round + 1
    request = DevopsRequested(devops.spec.task_id, devops.spec.area, scope, reqs,
                              devops.spec.attempt, round)
    return follow(cause, request, state.me, devops.spec.task_id, scope.value, round)


# -- reading the state ----------------------------------------------------------------


def _mine(state: State, event: Event) -> bool:
    """An event of an area this Monitor follows, whose module has not ended."""
    area = getattr(event.payload, "area", None)
    return (area is not None and (state.me.area is None or state.me.area == area)
            and area not in state.ended)


def _reassigned(state: State, p: TaskAssigned) -> bool:
    old = state.tasks.get(p.task_id)
    return p.attempt > 1 and old is not None and p.attempt > old.spec.attempt and not _finished(old)


def _finished(track: Track) -> bool:
    """Verified or cancelled: a later re-assignment (raised on a stale alert) changes nothing."""
    return isinstance(track.phase, Verified | Cancelled)


def _late(state: State, p: TaskAssigned) -> bool:
    """A first QA or DevOps assignment seen only after the work it waits for: producers race."""
    return p.task_id not in state.tasks and p.role in (Role.QA, Role.DEVOPS)


def _live(state: State, p: TaskCompleted | TaskFailed | TaskHeartbeat | QaPassed | QaFailed
          | DevopsFailed | SmokePassed | SmokeFailed) -> bool:
    """The event is of the task's current attempt and round, and the round is still open."""
    track = state.tasks.get(p.task_id)
    return (
        track is not None
        and isinstance(track.phase, Running)
        and (p.attempt, p.round) == (track.spec.attempt, track.round)
    )


def _dev_done(state: State, p: QaPassed | QaFailed) -> bool:
    """The QA result is about the dev task's current round, which completed."""
    dev = state.tasks.get(p.dev_task_id)
    return dev is not None and dev.round == p.round and dev.phase == Done(True)


def _qa_of(state: State, dev: Track) -> Track | None:
    return _paired(state, dev, Role.QA)


def _dev_of(state: State, qa: Track) -> Track | None:
    return _paired(state, qa, Role.DEV)


def _paired(state: State, track: Track, role: Role) -> Track | None:
    """The task of `role` the assignment pairs this one with (the PM's plan decides it)."""
    other = state.tasks.get(paired_task(track.spec))
    return other if other is not None and other.spec.role == role else None


def _verified(state: State, area: str) -> set[str]:
    return {
        r
        for t in _area_tasks(state, area)
        if t.spec.role == Role.DEV and isinstance(t.phase, Verified)
        for r in t.spec.requirement_ids
    }


def _area_tasks(state: State, area: str) -> list[Track]:
    return [t for t in state.tasks.values() if t.spec.area == area]


def _area(state: State, area: str) -> Area:
    return state.areas.get(area, Area())


def _bump(track: Track, round: int) -> Track:
    return replace(track, max_round=max(track.max_round, round))


def _set_area(state: State, area: str, value: Area) -> State:
    return replace(state, areas={**state.areas, area: value})


def _put(state: State, track: Track) -> State:
    return replace(state, tasks={**state.tasks, track.spec.task_id: track})
