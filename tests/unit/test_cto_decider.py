"""CTO rules (docs/flow.md) as given/when/then folds."""

from __future__ import annotations

import json
from collections.abc import Iterable

import pytest
from hypothesis import given as hypothesis_given
from hypothesis import settings
from hypothesis import strategies as st

from orchestrator.core.envelope import Actor, Event
from orchestrator.core.events import (
    AlertKind,
    CharterCreated,
    CtoDecided,
    Decision,
    Executor,
    Module,
    ModuleBlocked,
    ModuleCompleted,
    ModulePlanned,
    Payload,
    PmEscalated,
    Policy,
    ProjectBlocked,
    ProjectCancelled,
    ProjectCompleted,
    ProjectCreated,
    Requirement,
    Role,
    RoleHired,
    RoleReleased,
)
from services.cto.decider import STAFF, State, decide, evolve, initial_state

CTO = Actor(Role.CTO, None, "cto-0")
PM = Actor(Role.PM, "web", "pm-0")
POLICY = Policy(max_attempts=2, dev_deadline_ms=20_000)
EXECUTORS = (
    Executor(Role.DEV, "http", "web", {"url": "u"}),
    Executor(Role.DEV, "command", "backend"),
    Executor(Role.QA, "simulated", None, {"seed": "7"}),
)
CREATED = ProjectCreated(
    "Shop", "MVP",
    (Module("backend", (Requirement("FR-1", "Register", ("201",)),)),
     Module("web", (Requirement("FR-2", "Sign-up"), Requirement("NFR-1", "Fast")))),
    POLICY, EXECUTORS,
)


def event(payload: Payload, event_id: str, actor: Actor = PM) -> Event:
    return Event(event_id, "shop-1", "req-1", None, 5_000, actor, payload)


def given(events: Iterable[Event]) -> State:
    state = initial_state(CTO)
    for e in events:
        state = evolve(state, e)
    return state


def shapes(events: list[Event]) -> list[tuple[str, Payload]]:
    """What the CTO decided, the org chart's hires and releases left out (tested apart)."""
    return [(e.type, e.payload) for e in events if not e.type.startswith("role.")]


def org(events: list[Event]) -> list[tuple[str, str, str]]:
    """(type, role name, reason) of the org chart's events among `events`."""
    return [(e.type, e.payload.name, getattr(e.payload, "reason", "")) for e in events
            if isinstance(e.payload, RoleHired | RoleReleased)]


PLANNED = event(CREATED, "created", Actor(Role.SPEC))


def escalated(area: str, reason: str, event_id: str, task: str = "t",
              kind: AlertKind | None = AlertKind.DEADLINE_MISSED) -> Event:
    return event(PmEscalated(f"shop-1/{area}/dev/{task}", area, reason, 2, kind), event_id)


DEADLINE, SILENT, REPEATED = (AlertKind.DEADLINE_MISSED, AlertKind.SILENT_WORKER,
                              AlertKind.REPEATED_QA_FAILURE)


def test_a_created_project_gets_a_charter_and_one_planned_module_per_module() -> None:
    outs = decide(given([]), PLANNED)
    assert shapes(outs) == [
        ("charter.created", CharterCreated(
            "Shop", ("backend", "web"),
            ("backend verified and deployed", "web verified and deployed", "project completed"))),
        ("module.planned", ModulePlanned("backend", "pm-backend", CREATED.modules[0].requirements,
                                         POLICY, (EXECUTORS[1], EXECUTORS[2]))),
        ("module.planned", ModulePlanned("web", "pm-web", CREATED.modules[1].requirements,
                                         POLICY, (EXECUTORS[0], EXECUTORS[2]))),
    ]
    assert len({o.event_id for o in outs}) == len(outs)
    assert all(o.request_id == "req-1" and o.causation_id == "created" for o in outs)


def test_the_charter_is_attached_as_deterministic_json() -> None:
    charter_event = decide(given([]), PLANNED)[0]
    [charter] = charter_event.attachments
    assert (charter.name, charter.media_type) == ("charter.json", "application/json")
    body = json.loads(charter.content)
    assert body["modules"] == [{"area": "backend", "pm": "pm-backend"},
                               {"area": "web", "pm": "pm-web"}]
    assert body["scope"][0]["requirements"][0]["id"] == "FR-1"
    assert body["milestones"][-1] == "project completed"
    assert charter.content == decide(given([]), PLANNED)[0].attachments[0].content


def test_a_project_is_planned_only_once() -> None:
    assert decide(given([PLANNED]), event(CREATED, "created-again")) == []


def test_the_project_completes_when_every_planned_module_completed() -> None:
    backend = event(ModuleCompleted("backend", 3), "mc-1")
    web = event(ModuleCompleted("web", 5), "mc-2")
    assert shapes(decide(given([PLANNED]), backend)) == []
    assert shapes(decide(given([PLANNED, backend]), web)) == [
        ("project.completed", ProjectCompleted(("backend", "web")))]


def test_the_project_completes_only_once() -> None:
    backend = event(ModuleCompleted("backend", 3), "mc-1")
    web = event(ModuleCompleted("web", 5), "mc-2")
    [done] = [o for o in decide(given([PLANNED, backend]), web) if o.type == "project.completed"]
    assert decide(given([PLANNED, backend, web, done]), event(ModuleCompleted("web", 5), "x")) == []


@pytest.mark.parametrize(
    ("history", "kind", "reason", "decision"),
    [
        ([], DEADLINE, "deadline_missed: dev task late (attempts exhausted: 2 of 2)", Decision.RETRY),
        ([], SILENT, "silent_worker: no heartbeat", Decision.RETRY),
        ([], REPEATED, "repeated_qa_failure: QA failed 2 times", Decision.BLOCK),
        ([("web", DEADLINE)], SILENT, "silent_worker: again", Decision.BLOCK),
        ([("backend", DEADLINE)], SILENT, "silent_worker: other module", Decision.RETRY),
    ],
    ids=[
        "the first escalation of a module is retried",
        "a critical silent worker is retried first",
        "a repeated QA failure blocks",
        "a second escalation of a module blocks",
        "escalations are counted per module",
    ],
)
def test_an_escalation_gets_a_ruling(
    history: list[tuple[str, AlertKind]], kind: AlertKind, reason: str, decision: Decision
) -> None:
    before = [escalated(area, f"{k.value}: late", f"old-{i}", kind=k)
              for i, (area, k) in enumerate(history)]
    when = escalated("web", reason, "esc", kind=kind)
    [out] = decide(given([PLANNED, *before]), when)
    assert out.type == "cto.decided"
    assert isinstance(out.payload, CtoDecided)
    assert (out.payload.task_id, out.payload.area, out.payload.decision) == (
        "shop-1/web/dev/t", "web", decision)


def test_the_ruling_follows_the_kind_field_never_the_reason_text() -> None:
    # given a planned project; when the reason text names one kind and the field another
    looks_repeated = escalated("web", "repeated_qa_failure: only words", "esc-1", kind=DEADLINE)
    looks_late = escalated("web", "deadline_missed: only words", "esc-2", kind=REPEATED)
    # then the field decides
    [first] = decide(given([PLANNED]), looks_repeated)
    [second] = decide(given([PLANNED]), looks_late)
    assert isinstance(first.payload, CtoDecided) and first.payload.decision is Decision.RETRY
    assert isinstance(second.payload, CtoDecided) and second.payload.decision is Decision.BLOCK
    assert second.payload.reason == "QA keeps failing: the requirement needs a human"


def test_a_budget_kind_blocks_and_quotes_the_reason() -> None:
    when = escalated("web", "budget: task t budget exhausted: tokens 9 of 8", "esc", kind=AlertKind.BUDGET)
    [out] = decide(given([PLANNED]), when)
    assert out.payload == CtoDecided("shop-1/web/dev/t", "web", Decision.BLOCK,
                                     "budget exhausted: task t budget exhausted: tokens 9 of 8")


@pytest.mark.parametrize("reason", ["budget: spent", "repeated_qa_failure: QA failed 2 times"])
def test_an_escalation_without_a_kind_gets_the_general_rule(reason: str) -> None:
    # given an escalation written before `kind` existed (read with its default, None)
    old = escalated("web", reason, "esc", kind=None)
    assert isinstance(old.payload, PmEscalated) and old.payload.kind is None
    # then: the first of its module gets one more attempt, whatever the text says ...
    [first] = decide(given([PLANNED]), old)
    assert isinstance(first.payload, CtoDecided) and first.payload.decision is Decision.RETRY
    # ... and the next escalation of that module blocks
    again = escalated("web", reason, "esc-2", kind=None)
    [second] = decide(given([PLANNED, old, first]), again)
    assert isinstance(second.payload, CtoDecided) and second.payload.decision is Decision.BLOCK
    assert second.payload.reason == "web already had its extra attempt"


def test_an_escalation_already_ruled_on_gets_no_second_ruling() -> None:
    when = escalated("web", "deadline_missed: late", "esc")
    [ruling] = decide(given([PLANNED]), when)
    assert decide(given([PLANNED, when, ruling]), when) == []


def test_a_blocked_module_blocks_the_project_once() -> None:
    blocked = event(ModuleBlocked("web", "QA keeps failing"), "mb-1")
    [out] = [o for o in decide(given([PLANNED]), blocked) if o.type == "project.blocked"]
    assert shapes([out]) == [
        ("project.blocked", ProjectBlocked(("web",), "module web blocked: QA keeps failing"))]
    later = event(ModuleBlocked("backend", "late"), "mb-2")
    assert shapes(decide(given([PLANNED, blocked, out]), later)) == []


def test_a_blocked_project_never_completes() -> None:
    blocked = event(ModuleBlocked("web", "x"), "mb-1")
    [out] = [o for o in decide(given([PLANNED]), blocked) if o.type == "project.blocked"]
    backend = event(ModuleCompleted("backend", 3), "mc-1")
    web = event(ModuleCompleted("web", 5), "mc-2")
    assert shapes(decide(given([PLANNED, blocked, out, backend]), web)) == []


def test_escalations_in_flight_are_still_answered_once_the_project_is_blocked() -> None:
    blocked = event(ModuleBlocked("web", "x"), "mb-1")
    [out] = [o for o in decide(given([PLANNED]), blocked) if o.type == "project.blocked"]
    [ruling] = decide(given([PLANNED, blocked, out]), escalated("backend", "task_failed: x", "e"))
    assert isinstance(ruling.payload, CtoDecided)


def test_events_before_the_project_exists_are_ignored() -> None:
    assert decide(given([]), event(ModuleCompleted("web", 1), "mc")) == []
    assert decide(given([]), escalated("web", "late", "e")) == []


def test_each_planned_area_is_staffed_with_every_role_it_needs() -> None:
    hired = org(decide(given([]), PLANNED))
    assert hired == [("role.hired", f"{role.value}-{area}", "") for area in ("backend", "web")
                     for role in STAFF]
    assert {r.value for r in STAFF} == {"pm", "monitor", "dev", "qa", "devops"}


def test_an_ended_module_releases_its_roles_once() -> None:
    done = event(ModuleCompleted("backend", 3), "mc-1")
    released = org(decide(given([PLANNED]), done))
    assert released == [("role.released", f"{r.value}-backend", "module completed") for r in STAFF]
    assert org(decide(given([PLANNED, done]), event(ModuleCompleted("backend", 3), "again"))) == []
    blocked = event(ModuleBlocked("web", "x"), "mb-1")
    assert {n for _, n, why in org(decide(given([PLANNED, done]), blocked))
            if why == "module blocked"} == {f"{r.value}-web" for r in STAFF}


def test_a_cancelled_project_releases_the_roles_of_the_modules_still_open() -> None:
    done = event(ModuleCompleted("backend", 3), "mc-1")
    cancel = event(ProjectCancelled("stop"), "cancel", Actor(Role.CLIENT, None, "cli"))
    released = org(decide(given([PLANNED, done]), cancel))
    assert released == [("role.released", f"{r.value}-web", "project cancelled") for r in STAFF]


ESCALATIONS: dict[str, tuple[AlertKind | None, str]] = {  # label -> (kind, reason)
    "late": (DEADLINE, "deadline_missed: late"), "qa": (REPEATED, "repeated_qa_failure: x"),
    "failed": (AlertKind.TASK_FAILED, "task_failed: y"),
    "budget": (AlertKind.BUDGET, "budget: module budget exhausted"), "old": (None, "written before kind"),
}
reasons = st.sampled_from(sorted(ESCALATIONS))
steps = st.lists(
    st.one_of(
        st.tuples(st.just("completed"), st.sampled_from(["backend", "web"]), st.just("")),
        st.tuples(st.just("blocked"), st.sampled_from(["backend", "web"]), st.just("")),
        st.tuples(st.just("escalated"), st.sampled_from(["backend", "web"]), reasons),
        st.tuples(st.just("created"), st.just(""), st.just("")),
        st.tuples(st.just("cancelled"), st.just(""), st.just("")),
    ),
    max_size=15,
)


@settings(max_examples=200, deadline=None)
@hypothesis_given(steps)
def test_deciding_an_input_again_after_its_outputs_yields_nothing_new(
    plan: list[tuple[str, str, str]],
) -> None:
    state, emitted = initial_state(CTO), set()
    for i, (kind, area, reason) in enumerate([("created", "", ""), *plan]):
        alert_kind, why = ESCALATIONS.get(reason, (None, ""))
        payloads: dict[str, Payload] = {
            "created": CREATED,
            "completed": ModuleCompleted(area, 1),
            "blocked": ModuleBlocked(area, "why"),
            "escalated": PmEscalated(f"shop-1/{area}/dev/FR-1", area, why, 1, alert_kind),
            "cancelled": ProjectCancelled("stop"),
        }
        payload = payloads[kind]
        e = event(payload, f"in-{i}")
        outs = decide(state, e)
        state = evolve(state, e)
        for out in outs:
            state = evolve(state, out)
        emitted |= {o.event_id for o in outs}
        assert [o for o in decide(state, e) if o.event_id not in emitted] == []
        assert decide(state, e) == []
