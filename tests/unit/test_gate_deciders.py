"""Approval gates and hand-offs: each actor's rules as given/when/then folds (docs/flow.md)."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.core.envelope import Event, Tick
from orchestrator.core.events import (
    AlertKind,
    Approval,
    ApprovalGranted,
    ApprovalRejected,
    ApprovalRequested,
    DevopsRequested,
    Executor,
    ModuleBlocked,
    MonitorAlert,
    Payload,
    Role,
    Scope,
    Severity,
    TaskAssigned,
    TaskCancelled,
    TaskReassigned,
    TaskStarted,
)
from orchestrator.core.worker import gates, runs
from orchestrator.core.worker.work import Outcome
from services.dev import decider as dev
from services.devops import decider as devops
from services.monitor import decider as monitor
from services.pm import decider as pm
from services.qa import decider as qa
from tests.unit import test_control_deciders as c
from tests.unit import test_monitor_decider as m
from tests.unit import test_pm_decider as p
from tests.unit import test_worker_deciders as w

WAIT = 500  # the approval's deadline in these cases
TOTAL, ROLE = Approval("deployment_total", WAIT), Approval("devops", WAIT)
MANUAL = Executor(Role.DEV, "manual")


def gated(role: Role, *gates: Approval, attempt: int = 1) -> Event:
    """The assignment of `role`'s task with the policy's `gates` on it (the PM puts them)."""
    payload = w.assigned(role, attempt).payload
    assert isinstance(payload, TaskAssigned)
    return w.ev(dataclasses.replace(payload, approvals=gates), tag=gates)


def aid(role: Role, gate: str) -> str:
    return gates.approval_id(w.PID, w.tid(role, None if role == Role.DEVOPS else "FR-1"), gate)


def asked(role: Role, gate: str, round: int = 0) -> ApprovalRequested:
    tid = w.tid(role, None if role == Role.DEVOPS else "FR-1")
    return ApprovalRequested(aid(role, gate), tid, w.AREA, role, gate, 1, round, WAIT)


def answer(role: Role, gate: str, ok: bool = True, at: int = 0) -> Event:
    tid = w.tid(role, None if role == Role.DEVOPS else "FR-1")
    cls = ApprovalGranted if ok else ApprovalRejected
    return c.control(cls(aid(role, gate), tid, w.AREA, role, gate, "ok" if ok else "no"), at)


def reassigned(executor: Executor = MANUAL, role: Role = Role.DEV) -> Event:
    return c.control(TaskReassigned(w.tid(role), w.AREA, role, executor, "a person takes over"))


# -- workers: approvals ---------------------------------------------------------------


def test_a_gated_deployment_asks_for_approval_instead_of_claiming() -> None:
    history = [gated(Role.DEVOPS, TOTAL)]
    assert w.then(devops, history, w.devops_requested(Scope.TOTAL)) == [
        asked(Role.DEVOPS, "deployment_total")]


def test_a_gate_holds_only_the_work_it_names() -> None:
    history = [gated(Role.DEVOPS, TOTAL)]
    partial = w.then(devops, history, w.devops_requested(Scope.PARTIAL))
    assert partial == [TaskStarted(w.tid(Role.DEVOPS, None), w.AREA, Role.DEVOPS, 1, 0, w.LEASE)]


def test_a_role_gate_holds_the_first_claim_of_the_task() -> None:
    assert w.then(dev, [], gated(Role.DEV, Approval("dev", WAIT))) == [asked(Role.DEV, "dev")]


def test_an_approval_is_asked_once_while_it_waits() -> None:
    history = [gated(Role.DEVOPS, TOTAL), w.devops_requested(Scope.TOTAL)]
    assert w.then(devops, history, w.devops_requested(Scope.TOTAL, round=1)) == []


def test_a_grant_claims_the_work_that_waited() -> None:
    history = [gated(Role.DEVOPS, TOTAL), w.devops_requested(Scope.TOTAL, round=2)]
    assert w.then(devops, history, answer(Role.DEVOPS, "deployment_total")) == [
        TaskStarted(w.tid(Role.DEVOPS, None), w.AREA, Role.DEVOPS, 1, 2, w.LEASE)]


def test_a_grant_with_a_second_gate_closed_asks_for_that_one() -> None:
    history = [gated(Role.DEVOPS, ROLE, TOTAL), w.devops_requested(Scope.TOTAL)]
    assert w.then(devops, history, answer(Role.DEVOPS, "devops")) == [asked(Role.DEVOPS, "deployment_total")]


def test_a_granted_gate_stays_open_for_a_later_attempt() -> None:
    gate = Approval("dev", WAIT)
    history = [gated(Role.DEV, gate), answer(Role.DEV, "dev"), w.completed(Role.DEV)]
    assert w.then(dev, history, gated(Role.DEV, gate, attempt=2)) == [
        TaskStarted(w.tid(Role.DEV), w.AREA, Role.DEV, 2, 1, w.LEASE)]


def test_a_rejected_gate_claims_nothing_ever() -> None:
    history = [gated(Role.DEVOPS, TOTAL), w.devops_requested(Scope.TOTAL),
               answer(Role.DEVOPS, "deployment_total", ok=False)]
    assert w.then(devops, history, w.devops_requested(Scope.TOTAL, round=1)) == []
    assert w.then(devops, history, answer(Role.DEVOPS, "deployment_total")) == []


def test_a_grant_while_paused_claims_on_resume() -> None:
    history = [gated(Role.DEVOPS, TOTAL), w.devops_requested(Scope.TOTAL), c.control(c.PAUSE),
               answer(Role.DEVOPS, "deployment_total")]
    assert w.then(devops, history, answer(Role.DEVOPS, "deployment_total")) == []
    assert w.then(devops, history, c.control(c.RESUME)) == [
        TaskStarted(w.tid(Role.DEVOPS, None), w.AREA, Role.DEVOPS, 1, 0, w.LEASE)]


# -- workers: hand-offs ---------------------------------------------------------------


def test_a_hand_off_of_a_running_claim_claims_again_in_a_new_round_of_the_same_attempt() -> None:
    assert w.then(dev, [w.assigned(Role.DEV)], reassigned()) == [
        TaskStarted(w.tid(Role.DEV), w.AREA, Role.DEV, 1, 1, w.LEASE)]


def test_the_new_claim_runs_on_the_new_executor_and_the_old_one_is_not_rerun() -> None:
    state = w.fold(dev, w.me(Role.DEV), w.assigned(Role.DEV), reassigned())
    (started,) = runs.unfinished(state)
    assert dev.work_of(state, started).executor == MANUAL
    assert started.payload == TaskStarted(w.tid(Role.DEV), w.AREA, Role.DEV, 1, 1, w.LEASE)


def test_the_old_executors_late_result_changes_nothing() -> None:
    history = [w.assigned(Role.DEV)]
    _, old_claim = w.claim_of(dev, Role.DEV, *history)
    state = w.fold(dev, w.me(Role.DEV), *history, reassigned())
    assert dev.finish(state, old_claim, Outcome(True, "late")) == []
    after = dev.evolve(state, w.completed(Role.DEV, round=0))
    assert [s.payload for s in runs.unfinished(after)] == [
        TaskStarted(w.tid(Role.DEV), w.AREA, Role.DEV, 1, 1, w.LEASE)]


def test_a_hand_off_keeps_what_the_claim_was_for() -> None:
    history = [w.assigned(Role.DEVOPS), w.devops_requested(Scope.PARTIAL)]
    to = Executor(Role.DEVOPS, "manual")
    state = w.fold(devops, w.me(Role.DEVOPS), *history,
                   c.control(TaskReassigned(w.tid(Role.DEVOPS, None), w.AREA, Role.DEVOPS, to)))
    (started,) = runs.unfinished(state)
    work = devops.work_of(state, started)
    assert (work.executor, work.scope, work.requirement_ids, work.round) == (to, Scope.PARTIAL, ("FR-1",), 1)


def test_a_hand_off_of_an_idle_task_only_changes_its_next_claims_executor() -> None:
    history = [w.assigned(Role.DEV), w.completed(Role.DEV)]
    assert w.then(dev, history, reassigned()) == []
    state = w.fold(dev, w.me(Role.DEV), *history, reassigned(), w.rework())
    (started,) = runs.unfinished(state)
    assert dev.work_of(state, started).executor == MANUAL


def test_a_hand_off_while_paused_moves_the_running_work_too() -> None:
    history = [w.assigned(Role.DEV), c.control(c.PAUSE)]
    assert w.then(dev, history, reassigned()) == [
        TaskStarted(w.tid(Role.DEV), w.AREA, Role.DEV, 1, 1, w.LEASE)]


def test_a_running_qa_claim_is_not_re_claimed_by_a_hand_off() -> None:
    history = [w.assigned(Role.QA), w.qa_requested()]
    to = Executor(Role.QA, "manual")
    assert w.then(qa, history, reassigned(to, Role.QA)) == []


# -- Monitor: an approval's deadline --------------------------------------------------


def ask(gate: str = "deployment_total", at: int = 0) -> Event:
    return m.ev(ApprovalRequested("ap-1", m.DEVOPS, m.AREA, Role.DEVOPS, gate, 1, 0, WAIT), at)


def grant(at: int = 0) -> Event:
    return m.ev(ApprovalGranted("ap-1", m.DEVOPS, m.AREA, Role.DEVOPS, "deployment_total"), at)


def overdue(payloads: list[Payload]) -> list[MonitorAlert]:
    return [a for a in payloads if isinstance(a, MonitorAlert) and a.kind is AlertKind.APPROVAL_OVERDUE]


def _payloads(events: list[Event]) -> list[Payload]:
    return [e.payload for e in events]


def test_an_unanswered_approval_raises_one_overdue_alert_at_its_deadline() -> None:
    history = [*m.module(), ask(at=100)]
    assert monitor.due(m.fold(*history)) == 100 + WAIT
    assert overdue(m.then(history, Tick(100 + WAIT - 1))) == []
    (alert,) = overdue(m.then(history, Tick(100 + WAIT)))
    assert (alert.task_id, alert.severity, alert.attempt, alert.round) == (m.DEVOPS, Severity.WARNING, 1, 0)
    state = m.fold(*history, *monitor.decide(m.fold(*history), Tick(100 + WAIT)))
    assert overdue(_payloads(monitor.decide(state, Tick(10 * WAIT)))) == []


def test_an_answered_approval_raises_nothing() -> None:
    history = [*m.module(), ask(), grant(at=10)]
    assert overdue(m.then(history, Tick(10 * WAIT))) == []


def test_a_task_waiting_for_its_approval_misses_no_deadline_and_the_wait_does_not_count() -> None:
    asked = m.ev(ApprovalRequested("ap-1", m.DEVOPS, m.AREA, Role.DEVOPS, "deployment_total", 1, 0,
                                   100 * m.DEADLINE), 10)
    requested = m.ev(DevopsRequested(m.DEVOPS, m.AREA, Scope.TOTAL, m.REQS, 1, 0), 0)
    history = [*m.module(("FR-1",)), requested, asked]
    missed = m.alert(m.DEVOPS, AlertKind.DEADLINE_MISSED)
    wait = 50 * m.DEADLINE
    assert missed not in m.alerts(m.then(history, Tick(wait)))
    granted = m.ev(ApprovalGranted("ap-1", m.DEVOPS, m.AREA, Role.DEVOPS, "deployment_total"), 10 + wait)
    after = [*history, granted]
    assert missed not in m.alerts(m.then(after, Tick(wait + m.DEADLINE - 1)))
    assert missed in m.alerts(m.then(after, Tick(wait + m.DEADLINE)))


def test_a_pause_stops_the_approvals_clock_too() -> None:
    history = [*m.module(), ask(), c.control(c.PAUSE, at=10), c.control(c.RESUME, at=10 + 5 * WAIT)]
    assert monitor.due(m.fold(*history)) == 5 * WAIT + WAIT


# -- PM -------------------------------------------------------------------------------

GATES = (Approval("deployment_total"), Approval("qa", 60_000))


def test_the_pm_puts_the_policys_gates_on_the_tasks_they_apply_to() -> None:
    plan = p.event(dataclasses.replace(p.PLAN, policy=dataclasses.replace(p.POLICY, approvals=GATES)),
                   "planned-gated", p.CTO)
    gates = {o.payload.task_id: o.payload.approvals for o in pm.decide(pm.initial_state(p.PM), plan)
             if isinstance(o.payload, TaskAssigned)}
    assert gates == {p.DEV2: (), p.QA2: (GATES[1],), p.DEVN: (), p.QAN: (GATES[1],), p.OPS: (GATES[0],)}


REJECTED = p.event(ApprovalRejected("ap-1", p.OPS, "web", Role.DEVOPS, "deployment_total", "not today"),
                   "rejected", c.OPERATOR)


def test_a_rejection_blocks_the_module_and_cancels_its_open_tasks() -> None:
    state = p.run([p.PLANNED, p.verified(p.DEV2)])
    why = f"approval rejected (deployment_total of {p.OPS}): not today"
    assert p.shapes(pm.decide(state, REJECTED)) == [
        *[("task.cancelled", TaskCancelled(t, "web", why)) for t in (p.DEVN, p.QAN, p.OPS)],
        ("module.blocked", ModuleBlocked("web", why))]


def test_an_overdue_approval_is_not_a_reason_to_retry() -> None:
    state = p.run([p.PLANNED])
    overdue = p.alert(p.OPS, kind=AlertKind.APPROVAL_OVERDUE, event_id="overdue")
    assert pm.decide(state, overdue) == []
    assert pm.decide(state, p.alert(p.OPS)) != []  # any other warning re-assigns


def test_a_retry_after_a_hand_off_keeps_the_new_executor() -> None:
    to = Executor(Role.DEV, "manual")
    handed = p.event(TaskReassigned(p.DEV2, "web", Role.DEV, to), "handed", c.OPERATOR)
    (retry,) = pm.decide(p.run([p.PLANNED, handed]), p.alert(p.DEV2))
    assert isinstance(retry.payload, TaskAssigned)
    assert (retry.payload.attempt, retry.payload.executor) == (2, to)


# -- idempotency ----------------------------------------------------------------------

GATED_POOL: list[Event | Tick] = [
    gated(Role.DEVOPS, ROLE, TOTAL), w.devops_requested(Scope.PARTIAL),
    w.devops_requested(Scope.TOTAL, round=1), answer(Role.DEVOPS, "devops"),
    answer(Role.DEVOPS, "deployment_total", at=1), answer(Role.DEVOPS, "deployment_total", False, 2),
    c.control(TaskReassigned(w.tid(Role.DEVOPS, None), w.AREA, Role.DEVOPS, Executor(Role.DEVOPS, "manual"))),
    w.ev(w.completed(Role.DEVOPS).payload), *c.CONTROLS,
]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(GATED_POOL), max_size=20))
def test_devops_deciding_again_after_its_outputs_yields_nothing_new(inputs: list[Event | Tick]) -> None:
    initial = devops.initial_state(w.me(Role.DEVOPS))
    m.assert_replay_yields_nothing_new(devops.decide, devops.evolve, initial, inputs)


HANDOFF_POOL: list[Event | Tick] = [
    w.assigned(Role.DEV), gated(Role.DEV, Approval("dev", WAIT), attempt=2), answer(Role.DEV, "dev"),
    reassigned(), reassigned(Executor(Role.DEV, "command")), w.completed(Role.DEV),
    w.completed(Role.DEV, round=1), w.rework(round=2), *c.CONTROLS,
]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(HANDOFF_POOL), max_size=20))
def test_dev_with_gates_and_hand_offs_deciding_again_yields_nothing_new(inputs: list[Event | Tick]) -> None:
    m.assert_replay_yields_nothing_new(dev.decide, dev.evolve, dev.initial_state(w.me(Role.DEV)), inputs)


MONITOR_POOL: list[Event | Tick] = [*m.POOL, ask(at=3), grant(at=7), Tick(WAIT), Tick(3 * WAIT), *c.CONTROLS]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(MONITOR_POOL), max_size=25))
def test_monitor_with_approvals_deciding_again_yields_nothing_new(inputs: list[Event | Tick]) -> None:
    m.assert_replay_yields_nothing_new(monitor.decide, monitor.evolve, m.fold(*m.module()), inputs)


PM_POOL: list[Event | Tick] = [*c.PM_POOL, REJECTED,
                               p.event(TaskReassigned(p.DEV2, "web", Role.DEV, MANUAL), "h", c.OPERATOR),
                               p.alert(p.OPS, kind=AlertKind.APPROVAL_OVERDUE, event_id="o")]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(PM_POOL), max_size=20))
def test_pm_with_rejections_deciding_again_yields_nothing_new(inputs: list[Event | Tick]) -> None:
    m.assert_replay_yields_nothing_new(pm.decide, pm.evolve, pm.initial_state(p.PM), inputs)


