"""The shell skips, by header and before decoding, what a decider does not react to. These
properties prove that skipping changes nothing: for every event type outside a decider's
interests, for every other area's event (an area's instance) and for every other role's
task event (a worker), `evolve` keeps the state and `decide` says nothing. The types a
definition reads from every area (the Monitor's `task.usage`) are not skipped, so not here."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.core import catalog
from orchestrator.core.envelope import Actor, Event
from orchestrator.core.events import Role
from tests.unit import traces

PER_AREA = ("pm", "monitor", "dev", "qa", "devops")
WORKERS = ("dev", "qa", "devops")


def events_of(classes: list[type], **payload_changes: Any) -> st.SearchStrategy[Event]:
    def build(payload: Any, event_id: str, at: int) -> Event:
        fields = {f.name for f in dataclasses.fields(payload)}
        changes = {k: v for k, v in payload_changes.items() if k in fields}
        return Event(event_id, "shop-0", "req-trace", None, at, Actor(Role.CLIENT),
                     dataclasses.replace(payload, **changes))

    return st.builds(build, st.sampled_from(classes).flatmap(st.from_type), st.uuids().map(str),
                     st.integers(0, 2**40))


def check(state: Any, decider: Any, event: Event) -> None:
    assert decider.evolve(state, event) == state
    assert decider.decide(state, event) == []


@pytest.mark.parametrize("name", traces.NAMES)
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_events_outside_the_interests_change_nothing(name: str, data: st.DataObject) -> None:
    decider = traces.definition(name).decider
    outside = [e.cls for e in catalog.ENTRIES if e.cls not in decider.interests]
    state = data.draw(st.sampled_from(traces.states(name)))
    check(state, decider, data.draw(events_of(outside)))


@pytest.mark.parametrize("name", PER_AREA)
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_another_areas_events_change_nothing(name: str, data: st.DataObject) -> None:
    defn = traces.definition(name)
    decider = defn.decider
    state = data.draw(st.sampled_from(traces.states(name, "backend")))
    # the types the definition reads from every area are not skipped: nothing to prove
    with_area = [c for c in decider.interests if "area" in {f.name for f in dataclasses.fields(c)}
                 and c not in defn.every_area]
    check(state, decider, data.draw(events_of(with_area, area=data.draw(st.sampled_from(["web", "mobile"])))))


@pytest.mark.parametrize("name", WORKERS)
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_another_roles_task_events_change_nothing(name: str, data: st.DataObject) -> None:
    defn = traces.definition(name)
    state = data.draw(st.sampled_from(traces.states(name, "backend")))
    with_role = [c for c in defn.decider.interests if "role" in {f.name for f in dataclasses.fields(c)}]
    other = data.draw(st.sampled_from([r for r in (Role.DEV, Role.QA, Role.DEVOPS) if r != defn.role]))
    check(state, defn.decider, data.draw(events_of(with_role, role=other, area="backend")))


def test_the_states_sampled_cover_each_deciders_lifecycle() -> None:
    for name in traces.NAMES:
        states = traces.states(name)
        assert len(states) >= 2, name
        assert traces.definition(name).decider.is_terminal(states[-1]), name
