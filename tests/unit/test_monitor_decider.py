"""The Monitor's rules (docs/flow.md), as given/when/then folds over its pure decider."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.core.envelope import Actor, Event, Tick, derive_id
from orchestrator.core.events import (
    AlertKind,
    DevopsDeployed,
    DevopsFailed,
    DevopsRequested,
    Executor,
    ModulePlanned,
    MonitorAlert,
    Payload,
    Policy,
    QaFailed,
    QaPassed,
    QaRequested,
    Requirement,
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
    TaskVerified,
)
from services.monitor import decider as monitor
from services.monitor.state import State
from services.monitor.track import Verified

PID = "shop-0a1b2c3d"
AREA = "backend"
ME = Actor(Role.MONITOR, AREA, "monitor-1")
OTHER = Actor(Role.PM, AREA, "x")
LEASE, DEADLINE = 100, 1000
REQS = ("FR-1", "FR-2")


def ev(payload: Payload, at: int = 0, tag: object = "") -> Event:
    return Event(derive_id("test", repr(payload), at, tag), PID, "req-1", None, at, OTHER, payload)


def tid(role: Role, req: str | None = None) -> str:
    return f"{PID}/{AREA}/{role}" + (f"/{req}" if req else "")


def DEV(req: str = "FR-1") -> str:
    return tid(Role.DEV, req)


def QA(req: str = "FR-1") -> str:
    return tid(Role.QA, req)


DEVOPS = tid(Role.DEVOPS)


def planned(reqs: tuple[str, ...] = REQS, max_attempts: int = 3) -> Event:
    requirements = tuple(Requirement(r, r) for r in reqs)
    return ev(ModulePlanned(AREA, "pm-backend", requirements, Policy(max_attempts=max_attempts)))


def assigned(role: Role, req: str | None = None, attempt: int = 1, at: int = 0,
             reqs: tuple[str, ...] = REQS, pair: str | None = None) -> Event:
    """As the PM assigns: a dev task paired with its requirement's QA task and back;
    `pair=""` is an assignment written before the field existed."""
    ids = (req,) if req else reqs
    if pair is None:
        pair = {Role.DEV: QA(req or ""), Role.QA: DEV(req or "")}.get(role, "")
    payload = TaskAssigned(tid(role, req), AREA, role, attempt, ids, f"{role} {req}",
                           DEADLINE, LEASE, Executor(role), pair_task_id=pair)
    return ev(payload, at)


def module(reqs: tuple[str, ...] = REQS, max_attempts: int = 3) -> list[Event]:
    tasks = [assigned(role, r, reqs=reqs) for r in reqs for role in (Role.DEV, Role.QA)]
    return [planned(reqs, max_attempts), *tasks, assigned(Role.DEVOPS, reqs=reqs)]


def started(task_id: str, role: Role, attempt: int = 1, round: int = 0, at: int = 0) -> Event:
    return ev(TaskStarted(task_id, AREA, role, attempt, round, LEASE), at)


def completed(req: str = "FR-1", attempt: int = 1, round: int = 0, at: int = 0) -> Event:
    return ev(TaskCompleted(DEV(req), AREA, Role.DEV, attempt, round, "done"), at)


def passed(req: str = "FR-1", attempt: int = 1, round: int = 0) -> Event:
    return ev(QaPassed(QA(req), AREA, DEV(req), attempt, round, "ok"))


def failed(req: str = "FR-1", attempt: int = 1, round: int = 0) -> Event:
    return ev(QaFailed(QA(req), AREA, DEV(req), attempt, round, (req,)))


def dev_done(req: str = "FR-1", round: int = 0) -> list[Event]:
    return [started(DEV(req), Role.DEV, round=round), completed(req, round=round)]


def verified(req: str = "FR-1") -> list[Event]:
    return [*dev_done(req), passed(req)]


def fold(*history: Event) -> State:
    """The Monitor's state after `history`, its own outputs folded in as the shell does."""
    state = monitor.initial_state(ME)
    for event in history:
        outs = monitor.decide(state, event)
        state = monitor.evolve(state, event)
        for out in outs:
            state = monitor.evolve(state, out)
    return state


def then(history: list[Event], when: Event | Tick) -> list[Payload]:
    return [o.payload for o in monitor.decide(fold(*history), when)]


def alert(task_id: str, kind: AlertKind, attempt: int = 1, round: int = 0) -> tuple[object, ...]:
    severity = Severity.CRITICAL if kind == AlertKind.REPEATED_QA_FAILURE else Severity.WARNING
    return (task_id, kind, severity, attempt, round)


def alerts(payloads: list[Payload]) -> list[tuple[object, ...]]:
    return [(p.task_id, p.kind, p.severity, p.attempt, p.round)
            for p in payloads if isinstance(p, MonitorAlert)]


# -- dev -> QA ------------------------------------------------------------------------


def test_a_dev_completion_requests_qa_of_the_paired_task_with_the_dev_round() -> None:
    out = then([*module(), started(DEV("FR-2"), Role.DEV)], completed("FR-2"))
    assert out == [QaRequested(QA("FR-2"), AREA, DEV("FR-2"), ("FR-2",), 1, 0)]


def test_the_qa_requested_is_the_one_the_assignment_pairs_not_a_namesake() -> None:
    # given two QA tasks of FR-1; the dev task's assignment pairs it with the odd-named one
    odd = f"{PID}/{AREA}/acceptance-FR-1"
    dev = assigned(Role.DEV, "FR-1", pair=odd)
    qa_odd = ev(TaskAssigned(odd, AREA, Role.QA, 1, ("FR-1",), "acceptance", DEADLINE, LEASE,
                             Executor(Role.QA), pair_task_id=DEV()))
    namesake = assigned(Role.QA, "FR-1", pair="")
    history = [planned(("FR-1",)), dev, namesake, qa_odd, started(DEV(), Role.DEV)]
    # when the dev task completes, then QA is requested of the paired task only
    assert then(history, completed()) == [QaRequested(odd, AREA, DEV(), ("FR-1",), 1, 0)]


def test_an_unpaired_dev_task_requests_no_qa_though_a_qa_task_tests_its_requirement() -> None:
    # given a dev task whose assignment pairs it with no task (its QA task pairs back to it)
    history = [planned(("FR-1",)), assigned(Role.DEV, "FR-1", pair=f"{PID}/{AREA}/gone"),
               assigned(Role.QA, "FR-1"), started(DEV(), Role.DEV)]
    # then the requirement alone pairs nothing: the field is the pairing
    assert then(history, completed()) == []


def test_old_assignments_without_the_pair_field_pair_by_the_plans_ids() -> None:
    # given a log written before `pair_task_id`: every assignment reads it as ""
    old = [planned(("FR-1",)), assigned(Role.DEV, "FR-1", pair=""), assigned(Role.QA, "FR-1", pair="")]
    # then a dev completion still requests QA of its QA task, and the pass verifies it
    assert then([*old, started(DEV(), Role.DEV)], completed()) == [
        QaRequested(QA(), AREA, DEV(), ("FR-1",), 1, 0)]
    out = then([*old, *dev_done()], passed())
    assert TaskVerified(DEV(), AREA, Role.DEV, ("FR-1",)) in out


def test_a_reworked_dev_completion_requests_qa_with_its_round() -> None:
    history = [*module(), *dev_done(), failed()]
    history += [started(DEV(), Role.DEV, round=1)]
    assert then(history, completed(round=1)) == [
        QaRequested(QA(), AREA, DEV(), ("FR-1",), 1, 1)
    ]


def test_a_completion_of_a_round_not_current_is_ignored() -> None:
    assert then([*module(), started(DEV(), Role.DEV)], completed(round=3)) == []


# -- QA results -----------------------------------------------------------------------


def test_the_first_qa_pass_of_several_requirements_verifies_and_deploys_partially() -> None:
    out = then([*module(), *dev_done()], passed())
    assert out == [
        TaskVerified(DEV(), AREA, Role.DEV, ("FR-1",)),
        DevopsRequested(DEVOPS, AREA, Scope.PARTIAL, ("FR-1",), 1, 0),
    ]


def test_the_last_qa_pass_deploys_totally_in_a_new_round() -> None:
    out = then([*module(), *verified("FR-1"), *dev_done("FR-2")], passed("FR-2"))
    assert out == [
        TaskVerified(DEV("FR-2"), AREA, Role.DEV, ("FR-2",)),
        DevopsRequested(DEVOPS, AREA, Scope.TOTAL, REQS, 1, 1),
    ]


def test_a_single_requirement_module_deploys_totally_at_once() -> None:
    out = then([*module(("FR-1",)), *dev_done()], passed())
    assert out[1:] == [DevopsRequested(DEVOPS, AREA, Scope.TOTAL, ("FR-1",), 1, 0)]


def test_a_middle_qa_pass_verifies_without_deploying() -> None:
    reqs = ("FR-1", "FR-2", "FR-3")
    out = then([*module(reqs), *verified("FR-1"), *dev_done("FR-2")], passed("FR-2"))
    assert out == [TaskVerified(DEV("FR-2"), AREA, Role.DEV, ("FR-2",))]


def test_a_failed_qa_requests_rework_with_the_next_round() -> None:
    out = then([*module(), *dev_done()], failed())
    assert out == [TaskReworkRequested(DEV(), AREA, 1, 1, "QA failed: FR-1")]


def test_qa_failures_reaching_max_attempts_raise_a_critical_alert() -> None:
    history = [*module(max_attempts=2), *dev_done(), failed(), *dev_done(round=1)]
    out = then(history, failed(round=1))
    assert alerts(out) == [alert(DEV(), AlertKind.REPEATED_QA_FAILURE, round=1)]
    assert len(out) == 1


def test_a_qa_result_for_a_round_the_dev_task_has_not_completed_is_ignored() -> None:
    assert then([*module(), *dev_done()], passed(round=1)) == []


# -- deploys --------------------------------------------------------------------------


def deployed_total(reqs: tuple[str, ...] = ("FR-1",)) -> list[Event]:
    return [*module(reqs), *verified(), started(DEVOPS, Role.DEVOPS)]


def test_a_total_smoke_pass_verifies_the_devops_task() -> None:
    out = then(deployed_total(), ev(SmokePassed(DEVOPS, AREA, Scope.TOTAL, 1, 0)))
    assert out == [TaskVerified(DEVOPS, AREA, Role.DEVOPS, ("FR-1",))]


def test_a_partial_smoke_pass_verifies_nothing() -> None:
    history = [*module(), *verified(), started(DEVOPS, Role.DEVOPS)]
    assert then(history, ev(SmokePassed(DEVOPS, AREA, Scope.PARTIAL, 1, 0))) == []


def test_a_deployment_alone_changes_nothing() -> None:
    assert then(deployed_total(), ev(DevopsDeployed(DEVOPS, AREA, Scope.TOTAL, 1, 0, "x"))) == []


FAILURES = [
    (ev(DevopsFailed(DEVOPS, AREA, Scope.TOTAL, 1, 0, "boom")), DEVOPS, AlertKind.DEPLOY_FAILED),
    (ev(SmokeFailed(DEVOPS, AREA, Scope.TOTAL, 1, 0, "red")), DEVOPS, AlertKind.SMOKE_FAILED),
    (ev(TaskFailed(DEVOPS, AREA, Role.DEVOPS, 1, 0, "crash")), DEVOPS, AlertKind.TASK_FAILED),
]


def test_deploy_smoke_and_task_failures_raise_warnings() -> None:
    for when, task_id, kind in FAILURES:
        assert alerts(then(deployed_total(), when)) == [alert(task_id, kind)], kind


def test_a_failed_dev_task_raises_a_task_failed_warning() -> None:
    when = ev(TaskFailed(DEV(), AREA, Role.DEV, 1, 0, "compile error"))
    out = then([*module(), started(DEV(), Role.DEV)], when)
    assert alerts(out) == [alert(DEV(), AlertKind.TASK_FAILED)]


# -- assignments that arrive late (producers race on the log) -------------------------


def test_a_qa_assignment_seen_after_its_dev_task_completed_requests_qa() -> None:
    dev_only = [planned(("FR-1",)), assigned(Role.DEV, "FR-1", reqs=("FR-1",))]
    out = then([*dev_only, *dev_done()], assigned(Role.QA, "FR-1", reqs=("FR-1",)))
    assert out == [QaRequested(QA(), AREA, DEV(), ("FR-1",), 1, 0)]


def test_a_qa_assignment_seen_before_its_dev_task_completed_waits() -> None:
    history = [planned(("FR-1",)), assigned(Role.DEV, "FR-1", reqs=("FR-1",))]
    assert then(history, assigned(Role.QA, "FR-1", reqs=("FR-1",))) == []


def test_a_devops_assignment_seen_after_every_requirement_verified_deploys_totally() -> None:
    reqs = ("FR-1",)
    history = [planned(reqs), assigned(Role.DEV, "FR-1", reqs=reqs), assigned(Role.QA, "FR-1", reqs=reqs),
               *verified()]
    out = then(history, assigned(Role.DEVOPS, reqs=reqs))
    assert out == [DevopsRequested(DEVOPS, AREA, Scope.TOTAL, reqs, 1, 0)]


# -- re-assignment --------------------------------------------------------------------


def test_a_reassignment_of_a_verified_task_triggers_nothing_and_keeps_it_verified() -> None:
    history = [*deployed_total(), ev(TaskVerified(DEVOPS, AREA, Role.DEVOPS, ("FR-1",)))]
    again = assigned(Role.DEVOPS, attempt=2, reqs=("FR-1",))
    assert then(history, again) == []
    state = fold(*history, again)
    assert isinstance(state.tasks[DEVOPS].phase, Verified)
    late = ev(SmokePassed(DEVOPS, AREA, Scope.TOTAL, 2, 0))
    assert monitor.decide(state, late) == []


def test_a_reassignment_of_a_verified_dev_task_requests_no_qa_again() -> None:
    history = [*module(), *verified(), ev(TaskVerified(DEV(), AREA, Role.DEV, ("FR-1",)))]
    assert then(history, assigned(Role.DEV, "FR-1", attempt=2)) == []
    assert then([*history, assigned(Role.DEV, "FR-1", attempt=2)], completed(attempt=2)) == []


def test_a_reassigned_qa_task_is_requested_again_when_its_dev_task_completed() -> None:
    history = [*module(), *dev_done(), started(QA(), Role.QA)]
    out = then(history, assigned(Role.QA, "FR-1", attempt=2))
    assert out == [QaRequested(QA(), AREA, DEV(), ("FR-1",), 2, 0)]


def test_a_reassigned_qa_task_waits_while_its_dev_task_is_unfinished() -> None:
    assert then([*module(), started(DEV(), Role.DEV)], assigned(Role.QA, "FR-1", attempt=2)) == []


def test_a_reassigned_devops_task_deploys_totally_once_every_requirement_is_verified() -> None:
    out = then(deployed_total(), assigned(Role.DEVOPS, attempt=2, reqs=("FR-1",)))
    assert out == [DevopsRequested(DEVOPS, AREA, Scope.TOTAL, ("FR-1",), 2, 0)]


def test_a_reassigned_devops_task_waits_for_unverified_requirements() -> None:
    history = [*module(), *verified(), started(DEVOPS, Role.DEVOPS)]
    assert then(history, assigned(Role.DEVOPS, attempt=2)) == []


def test_a_reassigned_dev_task_is_tracked_afresh_and_goes_on_counting_rounds() -> None:
    history = [*module(), *dev_done(), failed(), started(DEV(), Role.DEV, round=1),
               assigned(Role.DEV, "FR-1", attempt=2), started(DEV(), Role.DEV, attempt=2, round=2)]
    assert then(history, completed(attempt=2, round=2)) == [
        QaRequested(QA(), AREA, DEV(), ("FR-1",), 1, 2)
    ]


def test_a_zombie_completion_of_an_older_attempt_is_ignored() -> None:
    history = [*module(), started(DEV(), Role.DEV), assigned(Role.DEV, "FR-1", attempt=2)]
    assert then(history, completed(attempt=1)) == []
    assert then(history, ev(TaskFailed(DEV(), AREA, Role.DEV, 1, 0, "late"))) == []


def test_a_stale_assignment_changes_nothing() -> None:
    history = [*module(), assigned(Role.DEV, "FR-1", attempt=2)]
    assert fold(*history, assigned(Role.DEV, "FR-1", attempt=1, at=5)) == fold(*history)


# -- time -----------------------------------------------------------------------------


def test_a_claimed_task_silent_for_its_lease_raises_silent_worker() -> None:
    history = [*module(), started(DEV(), Role.DEV, at=10)]
    assert then(history, Tick(10 + LEASE - 1)) == []
    assert alerts(then(history, Tick(10 + LEASE))) == [alert(DEV(), AlertKind.SILENT_WORKER)]


def test_a_heartbeat_renews_the_lease() -> None:
    beat = ev(TaskHeartbeat(DEV(), AREA, Role.DEV, 1, 0, 1), at=80)
    assert then([*module(), started(DEV(), Role.DEV, at=10), beat], Tick(10 + LEASE)) == []


def test_an_unclaimed_task_raises_no_silent_worker_but_misses_its_deadline() -> None:
    history = module()  # the dev tasks are triggered at 0 by their assignment
    assert then(history, Tick(DEADLINE - 1)) == []
    out = alerts(then(history, Tick(DEADLINE)))
    assert out == [alert(DEV(r), AlertKind.DEADLINE_MISSED) for r in REQS]


def test_the_qa_deadline_counts_from_its_request() -> None:
    history = [*module(("FR-1",)), started(DEV(), Role.DEV, at=DEADLINE - 10),
               completed(at=DEADLINE - 5)]
    assert alerts(then(history, Tick(DEADLINE))) == []
    assert alerts(then(history, Tick(2 * DEADLINE - 5))) == [alert(QA(), AlertKind.DEADLINE_MISSED)]


def test_each_timer_alert_is_raised_at_most_once_per_attempt_and_round() -> None:
    history = [*module(("FR-1",)), started(DEV(), Role.DEV)]
    first = monitor.decide(fold(*history), Tick(DEADLINE))
    assert {p.kind for p in [o.payload for o in first] if isinstance(p, MonitorAlert)} == {
        AlertKind.SILENT_WORKER, AlertKind.DEADLINE_MISSED}
    assert monitor.decide(fold(*history, *first), Tick(DEADLINE * 5)) == []


def test_a_timer_alert_has_the_same_id_whenever_it_is_raised() -> None:
    state = fold(*module(("FR-1",)), started(DEV(), Role.DEV))
    early, late = monitor.decide(state, Tick(LEASE)), monitor.decide(state, Tick(LEASE + 50))
    assert [o.event_id for o in early] == [o.event_id for o in late]
    assert [o.occurred_at for o in late] == [LEASE + 50]


def test_a_rework_restarts_the_deadline_for_the_new_round() -> None:
    history = [*module(("FR-1",)), *dev_done(), ev(failed().payload, at=DEADLINE - 1)]
    out = alerts(then(history, Tick(DEADLINE)))
    assert alert(DEV(), AlertKind.DEADLINE_MISSED, round=1) not in out


def test_finished_verified_and_cancelled_tasks_raise_no_timer_alerts() -> None:
    history = [*module(("FR-1",)), *verified(), ev(TaskCancelled(DEVOPS, AREA, "blocked"))]
    assert then(history, Tick(DEADLINE * 10)) == []


def test_events_of_another_area_are_ignored() -> None:
    foreign = ev(TaskCompleted(f"{PID}/web/dev/FR-9", "web", Role.DEV, 1, 0, "done"))
    state = fold(*module(), started(DEV(), Role.DEV))
    assert monitor.decide(state, foreign) == []
    assert monitor.evolve(state, foreign) == state


def test_a_monitor_of_every_area_follows_them_all() -> None:
    state = monitor.initial_state(replace(ME, area=None))
    for e in [*module(), started(DEV(), Role.DEV)]:
        state = monitor.evolve(state, e)
    assert [o.payload for o in monitor.decide(state, completed())] == [
        QaRequested(QA(), AREA, DEV(), ("FR-1",), 1, 0)
    ]


# -- idempotency ----------------------------------------------------------------------

POOL: list[Event | Tick] = [
    *[started(DEV(r), Role.DEV, a, n, at=n * 10) for r in REQS for a in (1, 2) for n in (0, 1, 2)],
    *[completed(r, a, n) for r in REQS for a in (1, 2) for n in (0, 1, 2)],
    *[passed(r, 1, n) for r in REQS for n in (0, 1, 2)],
    *[failed(r, 1, n) for r in REQS for n in (0, 1, 2)],
    *[assigned(role, r, attempt=2) for r in REQS for role in (Role.DEV, Role.QA)],
    assigned(Role.DEVOPS, attempt=2),
    *[started(QA(r), Role.QA, 1, n) for r in REQS for n in (0, 1)],
    started(DEVOPS, Role.DEVOPS, 1, 1),
    ev(SmokePassed(DEVOPS, AREA, Scope.TOTAL, 1, 1)),
    ev(SmokeFailed(DEVOPS, AREA, Scope.PARTIAL, 1, 0, "red")),
    ev(DevopsFailed(DEVOPS, AREA, Scope.TOTAL, 2, 0, "boom")),
    ev(TaskFailed(DEV("FR-2"), AREA, Role.DEV, 1, 0, "crash")),
    ev(TaskHeartbeat(DEV("FR-1"), AREA, Role.DEV, 1, 0, 1), at=50),
    *[Tick(t) for t in (LEASE, DEADLINE, 5 * DEADLINE)],
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(POOL), max_size=25))
def test_deciding_an_input_again_after_its_outputs_were_applied_yields_nothing_new(
    inputs: list[Event | Tick],
) -> None:
    assert_replay_yields_nothing_new(monitor.decide, monitor.evolve, fold(*module()), inputs)


def assert_replay_yields_nothing_new(decide, evolve, state, inputs) -> None:  # type: ignore[no-untyped-def]
    """Any decider: feed `inputs` with their outputs applied; deciding each again yields
    nothing new (the idempotency property every decider's tests check)."""
    emitted: set[str] = set()
    for when in inputs:
        outs = decide(state, when)
        if isinstance(when, Event):
            state = evolve(state, when)
        for out in outs:
            state = evolve(state, out)
        emitted |= {o.event_id for o in outs}
        assert {o.event_id for o in decide(state, when)} <= emitted
