"""The workers' lease protocol and each role's claim and finish rules (docs/flow.md)."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from types import ModuleType

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.core.envelope import Actor, Attachment, Event, Tick, derive_id, follow
from orchestrator.core.events import (
    DevopsDeployed,
    DevopsFailed,
    DevopsRequested,
    Executor,
    Payload,
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
    TaskReworkRequested,
    TaskStarted,
)
from orchestrator.core.worker import State, claims, initial_state, reports, runs
from orchestrator.core.worker.work import Outcome, Work
from services.dev import decider as dev
from services.devops import decider as devops
from services.qa import decider as qa

PID = "shop-0a1b2c3d"
AREA = "backend"
LEASE = 100
MONITOR = Actor(Role.MONITOR, AREA, "m")
ROOT = Path(__file__).resolve().parents[2]


def me(role: Role, area: str | None = AREA) -> Actor:
    return Actor(role, area, "w-1")


def ev(payload: Payload, tag: object = "") -> Event:
    return Event(derive_id("test", repr(payload), tag), PID, "req-1", None, 0, MONITOR, payload)


def tid(role: Role, req: str | None = "FR-1") -> str:
    return f"{PID}/{AREA}/{role}" + (f"/{req}" if req else "")


EXEC = {role: Executor(role, "simulated", None, {"seed": "7"}) for role in Role}


def assigned(role: Role, attempt: int = 1, area: str = AREA) -> Event:
    req = None if role == Role.DEVOPS else "FR-1"
    ids = ("FR-1", "FR-2") if role == Role.DEVOPS else ("FR-1",)
    payload = TaskAssigned(tid(role, req), area, role, attempt, ids, f"{role} task", 1000, LEASE,
                           EXEC[role])
    return ev(payload)


def completed(role: Role, attempt: int = 1, round: int = 0) -> Event:
    return ev(TaskCompleted(tid(role), AREA, role, attempt, round, "done"))


def rework(attempt: int = 1, round: int = 1) -> Event:
    return ev(TaskReworkRequested(tid(Role.DEV), AREA, attempt, round, "QA failed: FR-1"))


def qa_requested(attempt: int = 1, round: int = 0) -> Event:
    return ev(QaRequested(tid(Role.QA), AREA, tid(Role.DEV), ("FR-1",), attempt, round))


def devops_requested(scope: Scope = Scope.TOTAL, attempt: int = 1, round: int = 0) -> Event:
    reqs = ("FR-1",) if scope == Scope.PARTIAL else ("FR-1", "FR-2")
    return ev(DevopsRequested(tid(Role.DEVOPS, None), AREA, scope, reqs, attempt, round))


def fold(decider: ModuleType, actor: Actor, *history: Event) -> State:
    """The worker's state after `history`, its own outputs folded in as the shell does."""
    state = decider.initial_state(actor)
    for event in history:
        outs = decider.decide(state, event)
        state = decider.evolve(state, event)
        for out in outs:
            state = decider.evolve(state, out)
    return state


def then(decider: ModuleType, history: list[Event], when: Event | Tick) -> list[Payload]:
    role = {dev: Role.DEV, qa: Role.QA, devops: Role.DEVOPS}[decider]
    return [o.payload for o in decider.decide(fold(decider, me(role), *history), when)]


def claim_of(decider: ModuleType, role: Role, *history: Event) -> tuple[State, Event]:
    state = fold(decider, me(role), *history)
    (started,) = runs.unfinished(state)
    return state, started


def finish(decider: ModuleType, role: Role, history: list[Event], outcome: Outcome) -> list[Event]:
    state, started = claim_of(decider, role, *history)
    return list(decider.finish(state, started, outcome))


# -- claims ---------------------------------------------------------------------------


def test_dev_claims_its_assignment_with_the_lease() -> None:
    assert then(dev, [], assigned(Role.DEV)) == [
        TaskStarted(tid(Role.DEV), AREA, Role.DEV, 1, 0, LEASE)
    ]


def test_dev_ignores_assignments_of_other_roles_and_areas() -> None:
    assert then(dev, [], assigned(Role.QA)) == []
    assert then(dev, [], assigned(Role.DEV, area="web")) == []


def test_a_dev_of_every_area_claims_any_area() -> None:
    state = dev.initial_state(me(Role.DEV, None))
    assert len(dev.decide(state, assigned(Role.DEV, area="web"))) == 1


def test_dev_claims_a_rework_with_its_round() -> None:
    history = [assigned(Role.DEV), completed(Role.DEV)]
    assert then(dev, history, rework()) == [TaskStarted(tid(Role.DEV), AREA, Role.DEV, 1, 1, LEASE)]


def test_a_claimed_attempt_and_round_is_never_claimed_twice() -> None:
    assert then(dev, [assigned(Role.DEV)], ev(assigned(Role.DEV).payload, tag="again")) == []
    assert then(dev, [assigned(Role.DEV), rework()], ev(rework().payload, tag="again")) == []
    assert then(qa, [assigned(Role.QA), qa_requested()], ev(qa_requested().payload, "x")) == []


def test_a_trigger_for_an_older_attempt_claims_nothing() -> None:
    history = [assigned(Role.DEV), assigned(Role.DEV, attempt=2)]
    assert then(dev, history, rework(attempt=1, round=5)) == []
    assert then(qa, [assigned(Role.QA, attempt=2)], qa_requested(attempt=1)) == []


def test_a_cancelled_task_is_never_claimed() -> None:
    cancelled = ev(TaskCancelled(tid(Role.DEV), AREA, "module blocked"))
    assert then(dev, [assigned(Role.DEV), cancelled], rework()) == []
    assert then(dev, [assigned(Role.DEV), cancelled], assigned(Role.DEV, attempt=2)) == []


def test_a_reassigned_dev_task_is_claimed_in_the_round_after_the_last_one() -> None:
    history = [assigned(Role.DEV), rework(round=1)]
    assert then(dev, history, assigned(Role.DEV, attempt=2)) == [
        TaskStarted(tid(Role.DEV), AREA, Role.DEV, 2, 2, LEASE)
    ]


def test_qa_claims_a_qa_request_of_a_task_assigned_to_it() -> None:
    assert then(qa, [assigned(Role.QA)], qa_requested(round=2)) == [
        TaskStarted(tid(Role.QA), AREA, Role.QA, 1, 2, LEASE)
    ]
    assert then(qa, [], qa_requested()) == []


def test_devops_claims_the_partial_then_the_total_deploy() -> None:
    history = [assigned(Role.DEVOPS), devops_requested(Scope.PARTIAL)]
    finished = [*history, ev(SmokePassed(tid(Role.DEVOPS, None), AREA, Scope.PARTIAL, 1, 0))]
    assert then(devops, finished, devops_requested(Scope.TOTAL, round=1)) == [
        TaskStarted(tid(Role.DEVOPS, None), AREA, Role.DEVOPS, 1, 1, LEASE)
    ]


def test_a_later_round_waits_for_the_running_claim_and_is_claimed_with_its_result() -> None:
    total = devops_requested(Scope.TOTAL, round=1)
    history = [assigned(Role.DEVOPS), devops_requested(Scope.PARTIAL)]
    assert then(devops, history, total) == []  # the partial deploy still runs
    state, started = claim_of(devops, Role.DEVOPS, *history, total)
    out = devops.finish(state, started, Outcome(True, "deployed", smoke_ok=True))
    assert [type(o.payload) for o in out] == [DevopsDeployed, SmokePassed, TaskStarted]
    assert (out[-1].payload.round, out[-1].causation_id) == (1, total.event_id)  # type: ignore[union-attr]


def test_workers_ignore_time_and_foreign_events() -> None:
    for decider in (dev, qa, devops):
        assert then(decider, [], Tick(10**9)) == []
    assert then(devops, [assigned(Role.DEVOPS)], qa_requested()) == []


# -- unfinished claims ----------------------------------------------------------------


def test_unfinished_lists_the_claims_not_finished_yet() -> None:
    state = fold(dev, me(Role.DEV), assigned(Role.DEV))
    assert [s.payload for s in runs.unfinished(state)] == [
        TaskStarted(tid(Role.DEV), AREA, Role.DEV, 1, 0, LEASE)
    ]
    (started,) = runs.unfinished(state)
    done = dev.finish(state, started, Outcome(True, "done"))
    for event in done:
        state = dev.evolve(state, event)
    assert runs.unfinished(state) == []


def test_a_claim_superseded_by_a_new_attempt_is_not_rerun() -> None:
    # a killed worker's claim: the re-assignment is claimed by any instance, not the zombie
    other = me(Role.DEV)
    state = fold(dev, other, assigned(Role.DEV))
    (zombie,) = runs.unfinished(state)
    state = dev.evolve(state, assigned(Role.DEV, attempt=2))
    assert runs.unfinished(state) == []
    assert dev.finish(state, zombie, Outcome(True, "late")) == []


def test_a_claim_made_by_another_instance_is_not_claimed_again() -> None:
    state = dev.initial_state(me(Role.DEV))
    trigger = assigned(Role.DEV)
    theirs = claims.claim(initial_state(Actor(Role.DEV, AREA, "w-2")), trigger,
                          tid(Role.DEV), 1, 0, LEASE)
    for event in [trigger, *theirs]:
        state = dev.evolve(state, event)
    assert dev.decide(state, ev(trigger.payload, tag="redelivered")) == []


# -- finish ---------------------------------------------------------------------------


def test_dev_finish_turns_success_into_task_completed_with_an_id_from_the_claim() -> None:
    state, started = claim_of(dev, Role.DEV, assigned(Role.DEV))
    (out,) = dev.finish(state, started, Outcome(True, "implemented"))
    assert out.payload == TaskCompleted(tid(Role.DEV), AREA, Role.DEV, 1, 0, "implemented")
    assert out == follow(started, out.payload, me(Role.DEV))


def test_dev_finish_turns_failure_into_task_failed() -> None:
    out = finish(dev, Role.DEV, [assigned(Role.DEV)], Outcome(False, "compile error"))
    assert [o.payload for o in out] == [
        TaskFailed(tid(Role.DEV), AREA, Role.DEV, 1, 0, "compile error")
    ]


REPORT = Attachment("qa-report.json", "application/json", json.dumps({"failed": []}).encode())


def test_qa_finish_passes_with_the_report_attached() -> None:
    out = finish(qa, Role.QA, [assigned(Role.QA), qa_requested()], Outcome(True, "ok",
                                                                             attachments=(REPORT,)))
    assert [o.payload for o in out] == [QaPassed(tid(Role.QA), AREA, tid(Role.DEV), 1, 0, "ok")]
    assert out[0].attachments == (REPORT,)


def test_qa_finish_reports_the_failing_requirements() -> None:
    outcome = Outcome(False, "1 failed", failures=("FR-1",), attachments=(REPORT,))
    out = finish(qa, Role.QA, [assigned(Role.QA), qa_requested(round=1)], outcome)
    assert [o.payload for o in out] == [QaFailed(tid(Role.QA), AREA, tid(Role.DEV), 1, 1, ("FR-1",))]
    assert out[0].attachments == (REPORT,)


def test_qa_finish_fails_the_task_when_the_suite_could_not_run() -> None:
    out = finish(qa, Role.QA, [assigned(Role.QA), qa_requested()], Outcome(False, "no runner"))
    assert [o.payload for o in out] == [TaskFailed(tid(Role.QA), AREA, Role.QA, 1, 0, "no runner")]


def test_qa_finish_without_its_request_names_the_dev_task_its_assignment_pairs() -> None:
    # given a QA task paired (by the PM's plan) with a dev task whose id follows no convention,
    # and a claim whose request the worker no longer holds (a resumed claim)
    paired = TaskAssigned(tid(Role.QA), AREA, Role.QA, 1, ("FR-1",), "qa", 1000, LEASE, EXEC[Role.QA],
                          pair_task_id=f"{PID}/{AREA}/build-FR-1")
    claim = TaskStarted(tid(Role.QA), AREA, Role.QA, 1, 0, LEASE)
    started = Event(derive_id("claim"), PID, "req-1", None, 0, me(Role.QA), claim)
    state = fold(qa, me(Role.QA), ev(paired), started)
    # when it passes, then the verdict is about the paired dev task
    out = qa.finish(state, started, Outcome(True, "ok"))
    assert [o.payload for o in out] == [QaPassed(tid(Role.QA), AREA, f"{PID}/{AREA}/build-FR-1", 1, 0, "ok")]


LOG = Attachment("deploy.log", "text/plain", b"deploy: ok\n")
DEVOPS_CASES = [
    (Outcome(True, "ok", smoke_ok=True, attachments=(LOG,)), [DevopsDeployed, SmokePassed]),
    (Outcome(True, "smoke red", smoke_ok=False, attachments=(LOG,)), [DevopsDeployed, SmokeFailed]),
    (Outcome(False, "deploy broke", attachments=(LOG,)), [DevopsFailed]),
]


def test_devops_finish_deploys_then_reports_the_smoke_tests_or_the_deploy_failure() -> None:
    history = [assigned(Role.DEVOPS), devops_requested(Scope.PARTIAL)]
    for outcome, types in DEVOPS_CASES:
        out = finish(devops, Role.DEVOPS, history, outcome)
        assert [type(o.payload) for o in out] == types, outcome.summary
        assert all(getattr(o.payload, "scope", None) == Scope.PARTIAL for o in out)
        assert out[0].attachments == (LOG,)
        assert len({o.event_id for o in out}) == len(out)


def test_a_finished_claim_is_not_finished_again() -> None:
    state, started = claim_of(dev, Role.DEV, assigned(Role.DEV))
    for event in dev.finish(state, started, Outcome(True, "done")):
        state = dev.evolve(state, event)
    assert dev.finish(state, started, Outcome(False, "again")) == []
    assert dev.decide(state, ev(assigned(Role.DEV).payload, tag="again")) == []


def test_a_cancelled_claim_finishes_with_nothing() -> None:
    state, started = claim_of(dev, Role.DEV, assigned(Role.DEV))
    state = dev.evolve(state, ev(TaskCancelled(tid(Role.DEV), AREA, "blocked")))
    assert dev.finish(state, started, Outcome(True, "done")) == []
    assert runs.unfinished(state) == []


# -- heartbeats and work --------------------------------------------------------------


def test_heartbeats_derive_their_ids_from_the_claim_and_their_sequence() -> None:
    _, started = claim_of(dev, Role.DEV, assigned(Role.DEV))
    one, two = (reports.heartbeat(started, seq, me(Role.DEV)) for seq in (1, 2))
    assert one.payload == TaskHeartbeat(tid(Role.DEV), AREA, Role.DEV, 1, 0, 1)
    assert one.event_id != two.event_id
    assert one == reports.heartbeat(started, 1, me(Role.DEV))


def test_work_of_a_claim_carries_the_executor_requirements_and_scope() -> None:
    state, started = claim_of(devops, Role.DEVOPS, assigned(Role.DEVOPS),
                              devops_requested(Scope.PARTIAL))
    assert devops.work_of(state, started) == Work(
        PID, "req-1", tid(Role.DEVOPS, None), Role.DEVOPS, AREA, 1, 0, ("FR-1",),
        "devops task", Scope.PARTIAL, EXEC[Role.DEVOPS],
    )
    state, started = claim_of(dev, Role.DEV, assigned(Role.DEV))
    work = dev.work_of(state, started)
    assert (work.requirement_ids, work.scope, work.executor) == (("FR-1",), None, EXEC[Role.DEV])


def test_deciders_import_only_the_stdlib_and_the_kernel_types() -> None:
    protocol = sorted((ROOT / "orchestrator/core/worker").glob("*.py"))
    allowed = {"orchestrator.core", "orchestrator.core.events", "orchestrator.core.envelope",
               "orchestrator.core.catalog", "orchestrator.core.worker", "__future__", "dataclasses",
               "enum", "json", "typing", "collections.abc"}
    # the Monitor's decider and the rule modules beside it, which may import one another
    monitor = sorted(f"services/monitor/{p.name}" for p in (ROOT / "services" / "monitor").glob("*.py")
                     if p.name not in ("__init__.py", "main.py"))
    allowed |= {"services.monitor", *(f"services.monitor.{Path(p).stem}" for p in monitor)}
    allowed |= {f"orchestrator.core.worker.{p.stem}" for p in protocol if p.stem != "__init__"}
    files = [*monitor, "services/dev/decider.py", "services/qa/decider.py",
             "services/devops/decider.py", *(str(p.relative_to(ROOT)) for p in protocol)]
    assert len(monitor) > 1 and len(protocol) > 5  # the rule modules are checked too
    for name in files:
        tree = ast.parse((ROOT / name).read_text())
        found = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        found |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert found <= allowed, (name, found - allowed)


# -- idempotency ----------------------------------------------------------------------

POOLS: dict[ModuleType, tuple[Role, list[Event]]] = {
    dev: (Role.DEV, [assigned(Role.DEV), assigned(Role.DEV, attempt=2), rework(1, 1),
                     rework(1, 2), rework(2, 3), ev(TaskCancelled(tid(Role.DEV), AREA, "x"))]),
    qa: (Role.QA, [assigned(Role.QA), assigned(Role.QA, attempt=2), qa_requested(1, 0),
                   qa_requested(1, 1), qa_requested(2, 1)]),
    devops: (Role.DEVOPS, [assigned(Role.DEVOPS), assigned(Role.DEVOPS, attempt=2),
                           devops_requested(Scope.PARTIAL), devops_requested(Scope.TOTAL, 1, 1),
                           devops_requested(Scope.TOTAL, 2, 0)]),
}


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([dev, qa, devops]), st.data())
def test_a_worker_deciding_an_input_again_after_its_claim_was_applied_claims_nothing_new(
    decider: ModuleType, data: st.DataObject
) -> None:
    role, pool = POOLS[decider]
    inputs = data.draw(st.lists(st.sampled_from(pool), max_size=12))
    state = decider.initial_state(me(role))
    emitted: set[str] = set()
    for when in inputs:
        outs = decider.decide(state, when)
        state = decider.evolve(state, when)
        for out in outs:
            state = decider.evolve(state, out)
        emitted |= {o.event_id for o in outs}
        assert {o.event_id for o in decider.decide(state, when)} <= emitted
        for started in runs.unfinished(state):  # finishing twice applies once
            done = decider.finish(state, started, Outcome(True, "ok", smoke_ok=True))
            for out in done:
                state = decider.evolve(state, out)
            assert decider.finish(state, started, Outcome(True, "ok")) == []
