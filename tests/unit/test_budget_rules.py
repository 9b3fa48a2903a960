"""Budgets (docs/flow.md): the Monitor sums `task.usage`, warns, and stops work through the
PM and the CTO; given/when/then folds over the pure deciders, and the idempotency property."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.core.envelope import Actor, Event, Tick, derive_id
from orchestrator.core.events import (
    AlertKind,
    Budget,
    Budgets,
    CtoDecided,
    Decision,
    Executor,
    ModuleBlocked,
    ModulePlanned,
    MonitorAlert,
    Payload,
    PmEscalated,
    Policy,
    ProjectCreated,
    QaPassed,
    Requirement,
    Role,
    Severity,
    TaskAssigned,
    TaskCancelled,
    TaskCompleted,
    TaskStarted,
    TaskUsage,
)
from orchestrator.core.events import Module as ModuleSpec
from orchestrator.core.worker import reports
from orchestrator.core.worker.work import Outcome, Usage
from services.cto import decider as cto
from services.monitor import decider as monitor
from services.monitor.state import State
from services.pm import decider as pm
from services.pm.state import State as PmState
from services.spec import specdoc
from tests.unit.test_monitor_decider import assert_replay_yields_nothing_new

PID = "shop-0a1b2c3d"
AREA = "backend"
OTHER = Actor(Role.DEV, AREA, "x")
REQS = ("FR-1", "FR-2")
BUDGETS = Budgets(0.8, task=Budget(tokens=1000), module=Budget(tokens=1500, cost=1.0, seconds=60))


def ev(payload: Payload, at: int = 0, tag: object = "") -> Event:
    return Event(derive_id("test", repr(payload), at, tag), PID, "req-1", None, at, OTHER, payload)


def tid(role: Role, req: str | None = None) -> str:
    return f"{PID}/{AREA}/{role}" + (f"/{req}" if req else "")


def planned(budgets: Budgets = BUDGETS) -> Event:
    requirements = tuple(Requirement(r, r) for r in REQS)
    return ev(ModulePlanned(AREA, "pm-backend", requirements, Policy(budgets=budgets)))


def assigned(role: Role, req: str | None = None, attempt: int = 1) -> Event:
    ids = (req,) if req else REQS
    return ev(TaskAssigned(tid(role, req), AREA, role, attempt, ids, f"{role} {req}", 1000, 100,
                           Executor(role)))


def module(budgets: Budgets = BUDGETS) -> list[Event]:
    tasks = [assigned(role, r) for r in REQS for role in (Role.DEV, Role.QA)]
    return [planned(budgets), *tasks, assigned(Role.DEVOPS)]


def usage(task_id: str, tokens: int = 0, cost: float = 0.0, seconds: float = 0.0,
          attempt: int = 1, round: int = 0, role: Role = Role.DEV) -> Event:
    return ev(TaskUsage(task_id, AREA, role, attempt, round, tokens // 2, tokens - tokens // 2,
                        cost, seconds))


DEV1, DEV2, QA1 = tid(Role.DEV, "FR-1"), tid(Role.DEV, "FR-2"), tid(Role.QA, "FR-1")


def fold(*history: Event) -> State:
    state = monitor.initial_state(Actor(Role.MONITOR, AREA, "monitor-1"))
    for event in history:
        outs = monitor.decide(state, event)
        state = monitor.evolve(state, event)
        for out in outs:
            state = monitor.evolve(state, out)
    return state


def then(history: list[Event], when: Event) -> list[tuple[object, ...]]:
    return [(p.task_id, p.severity, p.attempt, p.message) for o in monitor.decide(fold(*history), when)
            if isinstance(p := o.payload, MonitorAlert) and p.kind is AlertKind.BUDGET]


# -- the spec -------------------------------------------------------------------------

SPEC = b"""
apiVersion: orchestrator/v1
kind: Spec
project: Shop
modules:
  - area: backend
    requirements: [{id: FR-1, title: x, acceptance: [a, b]}]
policy:
  budgets: %s
"""


def test_the_spec_budgets_become_the_policy_with_time_in_seconds() -> None:
    project = specdoc.parse(SPEC % b"{warn_at: 0.5, task: {tokens: 900, time: 10m}, module: {cost: 2}}")
    assert isinstance(project, ProjectCreated)
    assert project.policy.budgets == Budgets(0.5, Budget(900, 0.0, 600.0), Budget(0, 2.0, 0.0))
    plain = specdoc.parse(SPEC.replace(b"  budgets: %s\n", b"  max_attempts: 2\n"))
    assert isinstance(plain, ProjectCreated) and plain.policy.budgets == Budgets()


def test_a_bad_budget_is_rejected_with_its_path() -> None:
    errors = specdoc.parse(SPEC % b"{warn_at: 1.5, task: {tokens: -1, time: soon, money: 3}}")
    assert isinstance(errors, list)
    assert sorted(e.path for e in errors) == [
        "policy.budgets.task.money", "policy.budgets.task.time", "policy.budgets.task.tokens",
        "policy.budgets.warn_at"]


def test_a_project_budget_is_parsed_like_the_others() -> None:
    project = specdoc.parse(SPEC % b"{project: {tokens: 5000, cost: 3, time: 1h}, module: {tokens: 2000}}")
    assert isinstance(project, ProjectCreated)
    assert project.policy.budgets.project == Budget(5000, 3.0, 3600.0)
    assert project.policy.budgets.module == Budget(2000, 0.0, 0.0)


def test_a_bad_project_budget_is_rejected_with_its_path() -> None:
    errors = specdoc.parse(SPEC % b"{project: {tokens: many, cost: -2, time: later, people: 3}}")
    assert isinstance(errors, list)
    assert sorted(e.path for e in errors) == [
        "policy.budgets.project.cost", "policy.budgets.project.people", "policy.budgets.project.time",
        "policy.budgets.project.tokens"]


def test_the_assignment_carries_the_acceptance_criteria_of_its_requirements() -> None:
    requirements = (Requirement("FR-1", "x", ("a", "b")), Requirement("FR-2", "y", ("c",)))
    plan = ev(ModulePlanned(AREA, "pm-backend", requirements, Policy()))
    out = [o.payload for o in pm.decide(pm.initial_state(Actor(Role.PM, AREA, "pm-1")), plan)]
    acceptance = {p.task_id: p.acceptance for p in out if isinstance(p, TaskAssigned)}
    assert acceptance[DEV1] == ("a", "b") and acceptance[tid(Role.DEVOPS)] == ("a", "b", "c")


# -- the workers ----------------------------------------------------------------------


def test_a_runs_usage_follows_its_claim_with_a_deterministic_id() -> None:
    claim = ev(TaskStarted(DEV1, AREA, Role.DEV, 2, 1, 100))
    outcome = Outcome(True, "done", usage=Usage(10, 5, 0.25, 1.5))
    me = Actor(Role.DEV, AREA, "dev-1")
    spent = reports.usage(claim, outcome, me)
    assert spent.payload == TaskUsage(DEV1, AREA, Role.DEV, 2, 1, 10, 5, 0.25, 1.5)
    assert spent.causation_id == claim.event_id
    assert spent.event_id == reports.usage(claim, outcome, me).event_id


# -- the Monitor ----------------------------------------------------------------------


def test_usage_within_every_budget_raises_nothing() -> None:
    assert then(module(), usage(DEV1, tokens=700, cost=0.5, seconds=10)) == []


def test_crossing_the_warning_share_of_a_task_budget_warns_once() -> None:
    out = then(module(), usage(DEV1, tokens=850))
    assert out == [(DEV1, Severity.WARNING, 1, f"task {DEV1} budget past 80%: tokens 850 of 1000")]
    assert then([*module(), usage(DEV1, tokens=850)], usage(DEV1, tokens=50, round=1)) == []


def test_reaching_a_task_budget_over_several_runs_is_critical() -> None:
    history = [*module(), usage(DEV1, tokens=850)]
    out = then(history, usage(DEV1, tokens=200, round=1))
    assert out == [(DEV1, Severity.CRITICAL, 1, f"task {DEV1} budget exhausted: tokens 1050 of 1000")]


def test_a_module_budget_sums_every_task_of_the_area() -> None:
    history = [*module(), usage(DEV1, tokens=700)]
    out = then(history, usage(DEV2, tokens=500))
    text = "module backend budget past 80%: tokens 1200 of 1500, cost 0 of 1, seconds 0 of 60"
    assert out == [(DEV2, Severity.WARNING, 1, text)]


def test_cost_and_wall_time_count_like_tokens() -> None:
    assert [m[1] for m in then(module(), usage(DEV1, cost=1.2))] == [Severity.CRITICAL]
    out = then(module(), usage(DEV1, seconds=61.5))
    text = "module backend budget exhausted: tokens 0 of 1500, cost 0 of 1, seconds 61.5 of 60"
    assert out == [(DEV1, Severity.CRITICAL, 1, text)]


def test_one_usage_over_both_budgets_raises_one_alert_per_budget() -> None:
    out = then(module(), usage(DEV1, tokens=1600))
    assert [(m[1], m[3].split(" budget")[0]) for m in out] == [
        (Severity.CRITICAL, f"task {DEV1}"), (Severity.CRITICAL, "module backend")]


def test_each_further_run_over_an_exhausted_budget_is_critical_again() -> None:
    history = [*module(), usage(DEV1, tokens=1600)]
    out = then(history, usage(DEV2, tokens=10))
    assert out == [(DEV2, Severity.CRITICAL, 1,
                    "module backend budget exhausted: tokens 1610 of 1500, cost 0 of 1, seconds 0 of 60")]
    assert then(history, usage(DEV1, tokens=1600)) == []  # the same report again: nothing


def test_a_replayed_usage_report_counts_once() -> None:
    report = usage(DEV1, tokens=700)
    assert then([*module(), report, report], usage(DEV2, tokens=100)) == []


def test_no_budget_means_no_alert() -> None:
    assert then(module(Budgets()), usage(DEV1, tokens=10**9, cost=1e6, seconds=1e6)) == []


def test_the_usage_of_a_verified_task_names_an_open_task_of_the_module() -> None:
    history = [*module(), ev(TaskStarted(DEV1, AREA, Role.DEV, 1, 0, 100)),
               ev(TaskCompleted(DEV1, AREA, Role.DEV, 1, 0, "done")),
               ev(QaPassed(QA1, AREA, DEV1, 1, 0, "ok"))]
    out = then(history, usage(QA1, tokens=1600, role=Role.QA))
    assert {m[0] for m in out} == {DEV2}  # neither the verified dev task nor its QA task


def test_the_alert_names_the_current_attempt() -> None:
    history = [*module(), assigned(Role.DEV, "FR-1", attempt=2)]
    assert [m[2] for m in then(history, usage(DEV1, tokens=900))] == [2]


# -- the project budget: every area's runs together ------------------------------------

WEB = "web"
PROJECT = Budgets(0.8, module=Budget(tokens=1500), project=Budget(tokens=2000))


def in_area(area: str, history: list[Event]) -> list[Event]:
    """The same events for another area: its plan, its tasks, its reports."""
    def moved(e: Event) -> Event:
        p = e.payload
        changes: dict[str, object] = {"area": area}
        if hasattr(p, "task_id"):
            changes["task_id"] = p.task_id.replace(f"/{AREA}/", f"/{area}/")
        moved_payload = dataclasses.replace(p, **changes)  # type: ignore[type-var]
        return dataclasses.replace(e, event_id=derive_id("moved", e.event_id, area), payload=moved_payload)
    return [moved(e) for e in history]


def both(budgets: Budgets = PROJECT) -> list[Event]:
    return [*module(budgets), *in_area(WEB, module(budgets))]


def fold_as(area: str | None, *history: Event) -> State:
    state = monitor.initial_state(Actor(Role.MONITOR, area, f"monitor-{area}"))
    for event in history:
        outs = monitor.decide(state, event)
        state = monitor.evolve(state, event)
        for out in outs:
            state = monitor.evolve(state, out)
    return state


def then_as(area: str | None, history: list[Event], when: Event) -> list[tuple[object, ...]]:
    return [(p.area, p.task_id, p.severity, p.message)
            for o in monitor.decide(fold_as(area, *history), when)
            if isinstance(p := o.payload, MonitorAlert) and p.kind is AlertKind.BUDGET]


WEB_DEV1 = DEV1.replace(f"/{AREA}/", f"/{WEB}/")
[WEB_SPENT] = in_area(WEB, [usage(DEV1, tokens=1200)])
EXHAUSTED = "project budget exhausted: tokens 2100 of 2000"


def test_two_areas_runs_together_exhaust_the_project_budget_neither_module_budget_would() -> None:
    """Given both modules planned and web's run spent 1200 of 2000 (within every budget),
    when backend's run reports 900 (its module: 900 of 1500), then backend's Monitor raises
    a critical budget alert naming the project budget, for its own module's open task."""
    assert then_as(AREA, both(), WEB_SPENT) == []
    out = then_as(AREA, [*both(), WEB_SPENT], usage(DEV1, tokens=900))
    assert out == [(AREA, DEV1, Severity.CRITICAL, EXHAUSTED)]


def test_each_areas_monitor_raises_for_its_own_module_only() -> None:
    history, crossing = [*both(), WEB_SPENT], usage(DEV1, tokens=900)
    assert then_as(WEB, history, crossing) == [(WEB, WEB_DEV1, Severity.CRITICAL, EXHAUSTED)]
    assert then_as(None, history, crossing) == [  # a Monitor of every area: one per area
        (AREA, DEV1, Severity.CRITICAL, EXHAUSTED), (WEB, WEB_DEV1, Severity.CRITICAL, EXHAUSTED)]


def test_crossing_the_warning_share_of_the_project_budget_warns_each_module() -> None:
    out = then_as(WEB, [*both(), WEB_SPENT], usage(DEV1, tokens=500))
    assert out == [(WEB, WEB_DEV1, Severity.WARNING, "project budget past 80%: tokens 1700 of 2000")]


def test_a_replayed_crossing_raises_nothing() -> None:
    crossing = usage(DEV1, tokens=900)
    for area in (AREA, WEB, None):
        assert then_as(area, [*both(), WEB_SPENT, crossing], crossing) == []


def test_each_further_run_over_an_exhausted_project_budget_is_critical_again() -> None:
    history = [*both(), WEB_SPENT, usage(DEV1, tokens=900)]
    [(area, _, severity, text)] = then_as(AREA, history, usage(DEV2, tokens=10))
    assert (area, severity) == (AREA, Severity.CRITICAL)
    assert text == "project budget exhausted: tokens 2110 of 2000"


def test_another_areas_usage_leaves_this_areas_task_and_module_sums_alone() -> None:
    """Given web spent far past backend's budgets, backend's own sums still count only its runs."""
    budgets = Budgets(0.8, task=Budget(tokens=1000), module=Budget(tokens=1500))
    history = [*both(budgets), *in_area(WEB, [usage(DEV1, tokens=10**6), usage(DEV2, tokens=10**6)])]
    assert then_as(AREA, history[:-1], history[-1]) == []
    out = then_as(AREA, history, usage(DEV1, tokens=1250))
    assert out == [(AREA, DEV1, Severity.CRITICAL, f"task {DEV1} budget exhausted: tokens 1250 of 1000"),
                   (AREA, DEV1, Severity.WARNING, "module backend budget past 80%: tokens 1250 of 1500")]


def test_an_area_without_open_work_is_not_alerted() -> None:
    cancelled = [ev(TaskCancelled(t, AREA, "stop")) for t in (DEV1, DEV2, QA1, tid(Role.QA, "FR-2"),
                                                              tid(Role.DEVOPS))]
    history = [*both(), *cancelled, WEB_SPENT]
    assert [m[0] for m in then_as(None, history, usage(DEV1, tokens=900))] == [WEB]


def test_a_monitor_serving_none_of_the_projects_areas_keeps_nothing_of_it() -> None:
    """The CTO plans every module before any run: usage of a project with no module of this
    area leaves no state behind (the shell keeps none for it)."""
    state = monitor.initial_state(Actor(Role.MONITOR, "mobile", "monitor-mobile"))
    assert monitor.evolve(state, WEB_SPENT) is state and monitor.decide(state, WEB_SPENT) == []


PROJECT_POOL: list[Event | Tick] = [
    *[u for t in (DEV1, DEV2) for n in (400, 900) for r in (0, 1)
      for u in (usage(t, tokens=n, round=r), *in_area(WEB, [usage(t, tokens=n, round=r)]))],
    ev(TaskCancelled(DEV1, AREA, "stop")),
    Tick(5000),
]


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([AREA, WEB, None]), st.lists(st.sampled_from(PROJECT_POOL), max_size=20))
def test_deciding_any_areas_usage_again_after_its_outputs_were_applied_yields_nothing_new(
    area: str | None, inputs: list[Event | Tick],
) -> None:
    assert_replay_yields_nothing_new(monitor.decide, monitor.evolve, fold_as(area, *both()), inputs)


# -- the PM and the CTO ---------------------------------------------------------------


def budget_alert(severity: Severity) -> Event:
    return ev(MonitorAlert(DEV1, AREA, AlertKind.BUDGET, severity, 1, 0,
                           "module backend budget exhausted: tokens 1600 of 1500"))


def pm_after(*history: Event) -> PmState:
    state = pm.initial_state(Actor(Role.PM, AREA, "pm-1"))
    for event in history:
        outs = pm.decide(state, event)
        state = pm.evolve(state, event)
        for out in outs:
            state = pm.evolve(state, out)
    return state


def test_the_pm_ignores_a_budget_warning_and_escalates_an_exhausted_budget() -> None:
    state = pm_after(planned())
    assert pm.decide(state, budget_alert(Severity.WARNING)) == []
    [escalated] = [o.payload for o in pm.decide(state, budget_alert(Severity.CRITICAL))]
    assert isinstance(escalated, PmEscalated) and escalated.task_id == DEV1
    assert escalated.reason.startswith("budget: module backend budget exhausted")
    assert escalated.kind is AlertKind.BUDGET  # what the CTO rules on


def test_the_cto_blocks_a_budget_escalation_even_the_first_of_its_area() -> None:
    project = ProjectCreated("Shop", "", (ModuleSpec(AREA, (Requirement("FR-1", "x"),)),), Policy())
    state = cto.evolve(cto.initial_state(Actor(Role.CTO, None, "cto-1")), ev(project))
    escalation = ev(PmEscalated(DEV1, AREA, "budget: module backend budget exhausted: tokens", 1,
                                AlertKind.BUDGET))
    [ruling] = [o.payload for o in cto.decide(state, escalation)]
    assert isinstance(ruling, CtoDecided) and ruling.decision is Decision.BLOCK
    assert ruling.reason == "budget exhausted: module backend budget exhausted: tokens"


def test_a_budget_block_cancels_the_open_tasks_and_blocks_the_module() -> None:
    state = pm_after(planned(), budget_alert(Severity.CRITICAL))
    ruling = ev(CtoDecided(DEV1, AREA, Decision.BLOCK, "budget exhausted: tokens 1600 of 1500"))
    out = [o.payload for o in pm.decide(state, ruling)]
    assert sum(isinstance(p, TaskCancelled) for p in out) == 5
    assert out[-1] == ModuleBlocked(AREA, "budget exhausted: tokens 1600 of 1500")


# -- idempotency ----------------------------------------------------------------------

POOL: list[Event | Tick] = [
    *[usage(t, tokens=n, cost=n / 2000, seconds=n / 30, round=r)
      for t in (DEV1, DEV2, QA1) for n in (300, 900) for r in (0, 1)],
    assigned(Role.DEV, "FR-1", attempt=2),
    ev(TaskStarted(DEV1, AREA, Role.DEV, 1, 0, 100)),
    ev(TaskCompleted(DEV1, AREA, Role.DEV, 1, 0, "done")),
    ev(QaPassed(QA1, AREA, DEV1, 1, 0, "ok")),
    Tick(5000),
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(POOL), max_size=25))
def test_deciding_a_usage_again_after_its_outputs_were_applied_yields_nothing_new(
    inputs: list[Event | Tick],
) -> None:
    assert_replay_yields_nothing_new(monitor.decide, monitor.evolve, fold(*module()), inputs)
