"""Budgets: what each run reported (`task.usage`), summed per task and per module
against `policy.budgets`, and over every area's runs against the project's; an alert
per level a report raised.

A report is kept under its (area, task, attempt, round), so a replay changes no sum and
raises nothing. Other areas' reports (read past the area check, as
services/monitor/main.py declares) are kept beside this Monitor's own: the task and
module sums count only their own area's runs, the project sum counts them all, and each
Monitor stops only its own modules.
"""

from __future__ import annotations

from dataclasses import replace

from orchestrator.core.envelope import Event, follow
from orchestrator.core.events import AlertKind, Budget, MonitorAlert, Role, Severity, TaskUsage
from services.monitor.reading import dev_of, mine
from services.monitor.state import Run, Spent, State, area_of
from services.monitor.track import Track, Verified, finished


def recorded(state: State, p: TaskUsage) -> State:
    """Kept once this Monitor follows an area of the project: the CTO plans every module
    before any run, so a project none of whose areas it serves leaves no state here."""
    if not _follows(state, p):
        return state
    return replace(state, spent=_with_usage(state.spent, p))


def alerts(state: State, cause: Event, p: TaskUsage) -> list[Event]:
    """The task's and module's alerts of a report of this Monitor's own area, then the
    project's for every area it serves."""
    if not _follows(state, p):
        return []
    own = _scoped(state, cause, p) if mine(state, cause) else []
    return [*own, *_project(state, cause, p)]


def _follows(state: State, p: TaskUsage) -> bool:
    return bool(state.areas) or state.me.area in (None, p.area)


def _project(state: State, cause: Event, p: TaskUsage) -> list[Event]:
    """One alert per area this Monitor serves with open work, when the report raised the
    level of the project's sum (every area's runs); again critical for every further run
    over an exhausted project budget, like the module's. Each area's alert names an open
    task of that area: its PM escalates, the CTO blocks, so at the limit every module stops."""
    after = _with_usage(state.spent, p)
    total, before = sum(after.values(), Spent()), sum(state.spent.values(), Spent())
    fresh = (p.area, p.task_id, p.attempt, p.round) not in state.spent
    out = []
    for area, value in sorted(state.areas.items()):
        budgets = value.budgets
        level = _level(total, budgets.project, budgets.warn_at)
        was = _level(before, budgets.project, budgets.warn_at)
        target = _open_target(state, p, area) if area not in state.ended else None
        if target is not None and (level > was or (level == 2 and fresh)):
            severity = Severity.CRITICAL if level == 2 else Severity.WARNING
            what = "exhausted" if level == 2 else f"past {budgets.warn_at:.0%}"
            text = f"project budget {what}: {_usage_text(total, budgets.project)}"
            alert = MonitorAlert(target.spec.task_id, area, AlertKind.BUDGET, severity,
                                 target.spec.attempt, target.round, text)
            out.append(follow(cause, alert, state.me, "budget", "project", area, level))
    return out


def _scoped(state: State, cause: Event, p: TaskUsage) -> list[Event]:
    """An alert per budget (the task's, the module's) whose level this usage raised:
    `warning` past `warn_at` of a limit, `critical` (the PM escalates, the CTO blocks) at it.
    A replayed report raises nothing."""
    budgets = area_of(state, p.area).budgets
    after = _with_usage(state.spent, p)
    out, target = [], _target(state, p)
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


def _target(state: State, p: TaskUsage) -> Track | None:
    """The task the alert names: the one that spent, while open, else an open one of its area
    (the PM stops work by escalating an open task)."""
    candidates = [state.tasks[p.task_id]] if p.task_id in state.tasks else []
    candidates += [t for _, t in sorted(state.tasks.items()) if t.spec.area == p.area]
    open_ = [t for t in candidates if _open(state, t)]
    return next(iter(open_ or candidates), None)


def _open_target(state: State, p: TaskUsage, area: str) -> Track | None:
    """An open task of `area`: the one that spent if it is of the area, else the first."""
    candidates = [state.tasks[p.task_id]] if p.task_id in state.tasks else []
    candidates += [t for _, t in sorted(state.tasks.items())]
    return next((t for t in candidates if t.spec.area == area and _open(state, t)), None)


def _open(state: State, track: Track) -> bool:
    """Still to verify: not verified or cancelled, nor a QA task whose dev task was verified."""
    if finished(track):
        return False
    dev = dev_of(state, track) if track.spec.role == Role.QA else None
    return dev is None or not isinstance(dev.phase, Verified)


def _with_usage(spent: dict[Run, Spent], p: TaskUsage) -> dict[Run, Spent]:
    run = (p.area, p.task_id, p.attempt, p.round)
    return {**spent, run: Spent(p.tokens_in + p.tokens_out, p.cost, p.seconds)}
