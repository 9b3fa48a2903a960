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


def escalated(area: str, reason: str, event_id: str, task: str = "t") -> Event:
    return event(PmEscalated(f"shop-1/{area}/dev/{task}", area, reason, 2), event_id)


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
    ("history", "reason", "decision"),
    [
        ([], "deadline_missed: dev task late (attempts exhausted: 2 of 2)", Decision.RETRY),
        ([], "silent_worker: no heartbeat", Decision.RETRY),
        ([], "repeated_qa_failure: QA failed 2 times", Decision.BLOCK),
        ([("web", "deadline_missed: late")], "silent_worker: again", Decision.BLOCK),
        ([("backend", "deadline_missed: late")], "silent_worker: other module", Decision.RETRY),
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
    history: list[tuple[str, str]], reason: str, decision: Decision
) -> None:
    before = [escalated(area, why, f"old-{i}") for i, (area, why) in enumerate(history)]
    when = escalated("web", reason, "esc")
    [out] = decide(given([PLANNED, *before]), when)
    assert out.type == "cto.decided"
    assert isinstance(out.payload, CtoDecided)
    assert (out.payload.task_id, out.payload.area, out.payload.decision) == (
        "shop-1/web/dev/t", "web", decision)


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


reasons = st.sampled_from(["deadline_missed: late", "repeated_qa_failure: x", "task_failed: y"])
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
        payloads: dict[str, Payload] = {
            "created": CREATED,
            "completed": ModuleCompleted(area, 1),
            "blocked": ModuleBlocked(area, "why"),
            "escalated": PmEscalated(f"shop-1/{area}/dev/FR-1", area, reason, 1),
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
