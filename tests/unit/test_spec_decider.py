"""SPEC rules (docs/flow.md) as given/when/then folds."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from hypothesis import given as hypothesis_given
from hypothesis import settings
from hypothesis import strategies as st

from orchestrator.core.envelope import Actor, Event, follow
from orchestrator.core.events import (
    Payload,
    ProjectCreated,
    Role,
    SpecRejected,
    SpecSubmitted,
)
from services.spec import decider
from services.spec.decider import State, decide, evolve, initial_state, is_terminal, project_id

SPEC = Actor(Role.SPEC, None, "spec-0")
CLIENT = Actor(Role.CLIENT)
SHOP = (Path(__file__).resolve().parents[2] / "examples" / "specs" / "shop.yaml").read_bytes()
BAD = b"apiVersion: orchestrator/v1\nkind: Spec\nproject: Shop\nmodules: []\n"


def event(payload: Payload, event_id: str, project: str = "", request: str = "req-1") -> Event:
    return Event(event_id, project, request, None, 1_000, CLIENT, payload)


def submitted(document: bytes, request: str = "req-1", event_id: str = "sub-1") -> Event:
    return event(SpecSubmitted(document, "shop.yaml"), event_id, request=request)


def given(events: Iterable[Event], **kwargs: int) -> State:
    state = initial_state(SPEC, **kwargs)
    for e in events:
        state = evolve(state, e)
    return state


def shell(state: State, e: Event) -> tuple[State, list[Event]]:
    outs = decide(state, e)
    state = evolve(state, e)
    for out in outs:
        state = evolve(state, out)
    return state, outs


def test_a_valid_spec_creates_the_project_with_the_spec_attached() -> None:
    cause = submitted(SHOP, request="req-42")
    [out] = decide(given([]), cause)
    assert isinstance(out.payload, ProjectCreated) and out.payload.name == "Shop"
    digest = hashlib.sha256(b"req-42").hexdigest()[:8]
    assert out.project_id == f"shop-{digest}"
    assert (out.request_id, out.causation_id, out.actor) == ("req-42", cause.event_id, SPEC)
    assert out.event_id == follow(cause, out.payload, SPEC).event_id
    [spec] = out.attachments
    assert (spec.name, spec.media_type, spec.content) == ("spec.yaml", "application/yaml", SHOP)


def test_a_json_spec_is_attached_as_json() -> None:
    document = (b'{"apiVersion": "orchestrator/v1", "kind": "Spec", "project": "Shop",'
                b' "modules": [{"area": "web", "requirements": [{"id": "FR-1", "title": "t"}]}]}')
    [out] = decide(given([]), submitted(document))
    assert [(a.name, a.media_type) for a in out.attachments] == [
        ("spec.json", "application/json")]


def test_an_invalid_spec_is_rejected_with_every_error_and_nothing_else() -> None:
    [out] = decide(given([]), submitted(BAD))
    assert isinstance(out.payload, SpecRejected)
    assert [e.path for e in out.payload.errors] == ["modules"]
    assert out.request_id == "req-1" and out.attachments == ()


def test_an_oversized_spec_is_rejected_against_the_configured_limit() -> None:
    [out] = decide(given([], max_spec_bytes=100), submitted(SHOP))
    assert isinstance(out.payload, SpecRejected)
    assert out.payload.errors[0].path == "$"


def test_a_duplicate_submission_after_the_project_was_created_yields_nothing() -> None:
    first = submitted(SHOP, event_id="sub-1")
    state, [created] = shell(given([]), first)
    again = submitted(SHOP, event_id="sub-2")  # same request id, redelivered by a client
    assert decide(state, again) == []
    assert decide(given([created]), again) == []


def test_a_new_request_with_the_same_spec_creates_another_project() -> None:
    _, [one] = shell(given([]), submitted(SHOP, request="a", event_id="s1"))
    [two] = decide(given([]), submitted(SHOP, request="b", event_id="s2"))  # state is per request
    assert isinstance(two.payload, ProjectCreated) and two.project_id != one.project_id


def test_project_ids_are_slugs_with_the_request_hash() -> None:
    h = hashlib.sha256(b"r").hexdigest()[:8]
    assert project_id("Online Shop: MVP!", "r") == f"online-shop-mvp-{h}"
    assert project_id("A" * 40, "r") == f"{'a' * 30}-{h}"
    assert project_id("x" * 29 + " y", "r") == f"{'x' * 29}-{h}"
    assert project_id("日本", "r") == f"project-{h}"


def test_the_decider_imports_nothing_impure() -> None:
    source = Path(decider.__file__).read_text()
    for word in ("kafka", "faust", "psycopg", "uuid4", "random", "datetime", "import time"):
        assert word not in source


documents = st.sampled_from([SHOP, BAD, b"", b"\x00\x01"])
inputs = st.lists(
    st.tuples(st.sampled_from(["submit", "resubmit"]), documents,
              st.sampled_from(["r1", "r2", "r3"])),
    min_size=1, max_size=12,
)


@settings(max_examples=100, deadline=None)
@hypothesis_given(inputs)
def test_deciding_an_input_again_after_its_outputs_yields_nothing_new(
    steps: list[tuple[str, bytes, str]],
) -> None:
    states: dict[str, State] = {}  # the shell keys SPEC's state by request id
    emitted: set[str] = set()
    for i, (kind, document, request) in enumerate(steps):
        payload: Payload = SpecSubmitted(document)
        e = event(payload, f"in-{i}" if kind == "submit" else "in-0", request=request)
        states[request], outs = shell(states.get(request, initial_state(SPEC)), e)
        emitted |= {o.event_id for o in outs}
        assert [o for o in decide(states[request], e) if o.event_id not in emitted] == []
        assert len(outs) <= 1 and (not outs or is_terminal(states[request]))
