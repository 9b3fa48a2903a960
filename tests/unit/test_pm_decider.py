"""PM rules (docs/flow.md) as given/when/then folds."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable

import pytest
from hypothesis import given as hypothesis_given
from hypothesis import settings
from hypothesis import strategies as st

from orchestrator.core.envelope import Actor, Event
from orchestrator.core.events import (
    AlertKind,
    BacklogCreated,
    BacklogTask,
    CtoDecided,
    Decision,
    Executor,
    ModuleBlocked,
    ModuleCompleted,
    ModulePlanned,
    MonitorAlert,
    Payload,
    PmEscalated,
    Policy,
    QaFailed,
    Requirement,
    Role,
    Severity,
    TaskAssigned,
    TaskCancelled,
    TaskVerified,
)
from services.pm.decider import decide, evolve, initial_state
from services.pm.state import State

PM = Actor(Role.PM, "web", "pm-web-0")
MONITOR = Actor(Role.MONITOR, "web")
CTO = Actor(Role.CTO)
POLICY = Policy(max_attempts=2, dev_deadline_ms=20_000, qa_deadline_ms=10_000,
                devops_deadline_ms=30_000, heartbeat_timeout_ms=3_000)
EXECUTORS = (
    Executor(Role.DEV, "command", None, {"cmd": "make"}),
    Executor(Role.DEV, "http", "web", {"url": "u"}),
    Executor(Role.QA, "simulated", None, {"seed": "7"}),
    Executor(Role.DEVOPS, "manual", "mobile"),
)
PLAN = ModulePlanned("web", "pm-web", (Requirement("FR-2", "Sign-up page"),
                                       Requirement("NFR-1", "Fast pages")), POLICY, EXECUTORS)
DEV2, QA2, DEVN, QAN, OPS = (
    "shop-1/web/dev/FR-2", "shop-1/web/qa/FR-2", "shop-1/web/dev/NFR-1",
    "shop-1/web/qa/NFR-1", "shop-1/web/devops",
)


def event(payload: Payload, event_id: str, actor: Actor = MONITOR) -> Event:
    return Event(event_id, "shop-1", "req-1", None, 9_000, actor, payload)


PLANNED = event(PLAN, "planned", CTO)


def given(events: Iterable[Event], me: Actor = PM) -> State:
    state = initial_state(me)
    for e in events:
        state = evolve(state, e)
    return state


def run(events: Iterable[Event], me: Actor = PM) -> State:
    """The shell's loop: each input, then the decider's own outputs, folded in."""
    state = initial_state(me)
    for e in events:
        outs = decide(state, e)
        state = evolve(state, e)
        for out in outs:
            state = evolve(state, out)
    return state


def shapes(events: list[Event]) -> list[tuple[str, Payload]]:
    return [(e.type, e.payload) for e in events]


def alert(task: str, attempt: int = 1, severity: Severity = Severity.WARNING,
          kind: AlertKind = AlertKind.DEADLINE_MISSED, event_id: str = "alert") -> Event:
    return event(MonitorAlert(task, "web", kind, severity, attempt, 1, "late"), event_id)


def verified(task: str, role: Role = Role.DEV, event_id: str | None = None) -> Event:
    return event(TaskVerified(task, "web", role, ()), event_id or f"v-{task}")


def ruling(decision: Decision, task: str = DEV2, event_id: str = "ruling") -> Event:
    return event(CtoDecided(task, "web", decision, "because"), event_id, CTO)


def assigned(task: str, attempt: int) -> TaskAssigned:
    [out] = [o for o in decide(given([]), PLANNED) if getattr(o.payload, "task_id", "") == task]
    assert isinstance(out.payload, TaskAssigned)
    return dataclasses.replace(out.payload, attempt=attempt)


def test_a_planned_module_gets_a_backlog_then_every_task_assigned() -> None:
    outs = decide(given([]), PLANNED)
    rows = (
        BacklogTask(DEV2, Role.DEV, ("FR-2",), "Sign-up page", pair_task_id=QA2),
        BacklogTask(QA2, Role.QA, ("FR-2",), "Sign-up page", pair_task_id=DEV2),
        BacklogTask(DEVN, Role.DEV, ("NFR-1",), "Fast pages", pair_task_id=QAN),
        BacklogTask(QAN, Role.QA, ("NFR-1",), "Fast pages", pair_task_id=DEVN),
        BacklogTask(OPS, Role.DEVOPS, ("FR-2", "NFR-1"), "Provision and deploy web"),
    )
    assert shapes(outs[:1]) == [("backlog.created", BacklogCreated("web", rows))]
    assert [(o.type, o.payload.task_id, o.payload.attempt) for o in outs[1:]  # type: ignore[union-attr]
            ] == [("task.assigned", r.task_id, 1) for r in rows]
    assert len({o.event_id for o in outs}) == len(outs)
    [backlog] = outs[0].attachments
    assert (backlog.name, backlog.media_type) == ("backlog.json", "application/json")
    assert [t["task_id"] for t in json.loads(backlog.content)["tasks"]] == [r.task_id for r in rows]


@pytest.mark.parametrize(
    ("task", "deadline", "executor"),
    [
        (DEV2, 20_000, EXECUTORS[1]),
        (QA2, 10_000, EXECUTORS[2]),
        (OPS, 30_000, Executor(Role.DEVOPS)),
    ],
    ids=["the executor for role and area wins", "else the executor for the role",
         "else a simulated executor"],
)
def test_assignments_carry_the_policy_and_the_chosen_executor(
    task: str, deadline: int, executor: Executor
) -> None:
    a = assigned(task, 1)
    assert (a.deadline_ms, a.lease_ms, a.executor) == (deadline, 3_000, executor)


def test_the_plan_pairs_each_dev_task_with_its_qa_task_once_in_the_assignments() -> None:
    # when a module is planned, then each assignment carries its pair (devops has none)
    pairs = {o.payload.task_id: o.payload.pair_task_id for o in decide(given([]), PLANNED)
             if isinstance(o.payload, TaskAssigned)}
    assert pairs == {DEV2: QA2, QA2: DEV2, DEVN: QAN, QAN: DEVN, OPS: ""}
    # and a re-assignment keeps it
    assert shapes(decide(run([PLANNED]), alert(QA2)))[0][1].pair_task_id == DEV2  # type: ignore[union-attr]


def test_a_verified_dev_task_closes_the_qa_task_its_assignment_names() -> None:
    # given a dev task paired (by its assignment) with a QA task whose id follows no convention
    odd_qa = "shop-1/web/check-sign-up"
    dev = event(dataclasses.replace(assigned(DEV2, 1), pair_task_id=odd_qa), "a-dev", PM)
    qa = event(dataclasses.replace(assigned(QA2, 1), task_id=odd_qa, pair_task_id=DEV2), "a-qa", PM)
    state = given([PLANNED, dev, qa])
    # when the dev task is verified, then the paired QA task is closed: its alerts are stale
    after = run([PLANNED, dev, qa, verified(DEV2)])
    assert decide(after, alert(odd_qa)) == []
    assert decide(state, alert(odd_qa)) != []  # (it was open before)
    assert decide(after, alert(QA2)) != []  # the conventional id is not what pairs them


def test_an_assignment_written_before_the_pair_field_pairs_by_the_plans_ids() -> None:
    # given assignments read from an old log: `pair_task_id` at its default
    old = [event(dataclasses.replace(assigned(t, 1), pair_task_id=""), f"old-{t}", PM) for t in (DEV2, QA2)]
    # when the dev task is verified, then its QA task is closed all the same
    assert decide(run([PLANNED, *old, verified(DEV2)]), alert(QA2)) == []


def test_a_module_of_another_area_is_not_mine() -> None:
    other = event(dataclasses.replace(PLAN, area="mobile"), "p2", CTO)
    assert decide(given([]), other) == []
    assert len(decide(given([], Actor(Role.PM)), other)) == 6  # a PM for every area


def test_a_module_is_planned_only_once() -> None:
    assert decide(run([PLANNED]), event(PLAN, "planned-again", CTO)) == []


def test_a_warning_with_attempts_left_reassigns_with_the_next_attempt() -> None:
    assert shapes(decide(run([PLANNED]), alert(DEV2))) == [("task.assigned", assigned(DEV2, 2))]


def test_a_critical_alert_escalates_to_the_cto() -> None:
    when = alert(QA2, severity=Severity.CRITICAL, kind=AlertKind.REPEATED_QA_FAILURE)
    assert shapes(decide(run([PLANNED]), when)) == [
        ("pm.escalated", PmEscalated(QA2, "web", "repeated_qa_failure: late", 1,
                                     AlertKind.REPEATED_QA_FAILURE))]


@pytest.mark.parametrize("kind", [AlertKind.TASK_FAILED, AlertKind.SILENT_WORKER, AlertKind.SMOKE_FAILED])
def test_an_escalation_carries_the_alert_kind_as_a_field(kind: AlertKind) -> None:
    state = run([PLANNED, alert(OPS, 1, kind=kind, event_id="a1")])
    [out] = decide(state, alert(OPS, 2, kind=kind, event_id="a2"))
    assert isinstance(out.payload, PmEscalated) and out.payload.kind is kind


def test_an_alert_with_attempts_exhausted_escalates() -> None:
    state = run([PLANNED, alert(DEV2, 1, event_id="a1")])
    [out] = decide(state, alert(DEV2, 2, event_id="a2"))
    assert out.type == "pm.escalated"
    assert out.payload == PmEscalated(
        DEV2, "web", "deadline_missed: late (attempts exhausted: 2 of 2)", 2,
        AlertKind.DEADLINE_MISSED)


@pytest.mark.parametrize(
    ("history", "when"),
    [
        ([alert(DEV2, 1, event_id="a1")], alert(DEV2, 1, event_id="a1-again")),
        ([verified(DEV2)], alert(DEV2)),
        ([verified(DEV2)], alert(QA2)),
        ([ruling(Decision.BLOCK, event_id="r")], alert(DEVN)),
        ([alert(DEV2, 1, Severity.CRITICAL, event_id="c")], alert(DEV2, 1, event_id="w")),
        ([], alert("shop-1/web/dev/FR-99")),
    ],
    ids=[
        "an alert of an older attempt is stale",
        "an alert on a verified task is stale",
        "an alert on the QA of a verified requirement is stale",
        "an alert on a cancelled task is stale",
        "an alert on a task awaiting the CTO is held",
        "an alert on an unknown task is ignored",
    ],
)
def test_stale_alerts_yield_nothing(history: list[Event], when: Event) -> None:
    assert decide(run([PLANNED, *history]), when) == []


def test_a_retry_ruling_reassigns_with_one_extra_attempt() -> None:
    state = run([PLANNED, alert(DEV2, 1, event_id="a1"), alert(DEV2, 2, event_id="a2")])
    assert shapes(decide(state, ruling(Decision.RETRY))) == [("task.assigned", assigned(DEV2, 3))]


def test_a_retry_ruling_for_a_task_not_awaiting_one_yields_nothing() -> None:
    assert decide(run([PLANNED]), ruling(Decision.RETRY)) == []


def test_a_block_ruling_cancels_every_unfinished_task_then_blocks_the_module() -> None:
    state = run([PLANNED, verified(DEV2)])
    outs = decide(state, ruling(Decision.BLOCK, task=DEVN))
    why = "blocked by the CTO: because"
    assert shapes(outs) == [
        ("task.cancelled", TaskCancelled(DEVN, "web", why)),
        ("task.cancelled", TaskCancelled(QAN, "web", why)),
        ("task.cancelled", TaskCancelled(OPS, "web", why)),
        ("module.blocked", ModuleBlocked("web", "because")),
    ]
    assert len({o.event_id for o in outs}) == 4


def test_a_module_is_blocked_only_once() -> None:
    state = run([PLANNED, ruling(Decision.BLOCK, event_id="r1")])
    assert decide(state, ruling(Decision.BLOCK, task=DEVN, event_id="r2")) == []


def test_the_module_completes_when_every_dev_task_and_devops_are_verified() -> None:
    state = run([PLANNED, verified(DEV2), verified(DEVN)])
    assert shapes(decide(state, verified(OPS, Role.DEVOPS))) == [
        ("module.completed", ModuleCompleted("web", 5))]


@pytest.mark.parametrize(
    ("history", "when"),
    [
        ([verified(DEV2)], verified(DEVN)),
        ([verified(DEV2)], verified(OPS, Role.DEVOPS)),
        ([verified(DEV2), verified(DEVN), ruling(Decision.BLOCK, OPS)], verified(OPS)),
    ],
    ids=["devops still unverified", "a dev task still unverified", "a blocked module"],
)
def test_the_module_does_not_complete_early(history: list[Event], when: Event) -> None:
    assert decide(run([PLANNED, *history]), when) == []


def test_the_module_completes_only_once() -> None:
    state = run([PLANNED, verified(DEV2), verified(DEVN), verified(OPS, Role.DEVOPS)])
    assert decide(state, verified(OPS, Role.DEVOPS, event_id="again")) == []


def test_the_pm_never_listens_to_qa_directly() -> None:
    failed = event(QaFailed(QA2, "web", DEV2, 1, 1, ("boom",)), "qa", Actor(Role.QA, "web"))
    assert decide(run([PLANNED]), failed) == []


def test_the_pm_ignores_other_areas() -> None:
    other = event(MonitorAlert("shop-1/mobile/dev/FR-5", "mobile", AlertKind.TASK_FAILED,
                               Severity.CRITICAL, 1, 1, "x"), "m")
    assert decide(run([PLANNED]), other) == []


tasks = st.sampled_from([DEV2, QA2, DEVN, QAN, OPS])
inputs = st.lists(
    st.one_of(
        st.builds(lambda t, a, s: ("alert", t, a, s), tasks, st.integers(1, 4),
                  st.sampled_from(list(Severity))),
        st.builds(lambda t: ("verified", t, 0, None), tasks),
        st.builds(lambda t, d: ("ruling", t, 0, d), tasks, st.sampled_from(list(Decision))),
        st.just(("planned", "", 0, None)),
    ),
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@hypothesis_given(inputs)
def test_deciding_an_input_again_after_its_outputs_yields_nothing_new(
    steps: list[tuple[str, str, int, object]],
) -> None:
    state, emitted = initial_state(PM), set()
    for i, (kind, task, attempt, extra) in enumerate([("planned", "", 0, None), *steps]):
        payload: Payload
        if kind == "alert":
            assert isinstance(extra, Severity)
            payload = MonitorAlert(task, "web", AlertKind.TASK_FAILED, extra, attempt, 1, "x")
        elif kind == "verified":
            payload = TaskVerified(task, "web", Role.DEV, ())
        elif kind == "ruling":
            assert isinstance(extra, Decision)
            payload = CtoDecided(task, "web", extra, "r")
        else:
            payload = PLAN
        e = event(payload, f"in-{i}")
        outs = decide(state, e)
        state = evolve(state, e)
        for out in outs:
            state = evolve(state, out)
        emitted |= {o.event_id for o in outs}
        assert decide(state, e) == []
