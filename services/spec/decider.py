"""SPEC: validates submitted specs into `project.created` or `spec.rejected` (docs/flow.md).

Its part ends with the answer; the CTO's `project.completed` / `project.blocked` close the
request on the log, where the read side shows them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass

from orchestrator.core.envelope import Actor, Attachment, Event, Tick, follow
from orchestrator.core.events import ProjectCreated, SpecRejected, SpecSubmitted
from services.spec import specdoc


@dataclass(frozen=True)
class State:
    """One submission (the shell keys SPEC's state by request id)."""

    me: Actor
    max_spec_bytes: int = specdoc.MAX_BYTES
    answered: bool = False


interests = frozenset({SpecSubmitted, ProjectCreated, SpecRejected})


def initial_state(me: Actor, max_spec_bytes: int = specdoc.MAX_BYTES) -> State:
    return State(me=me, max_spec_bytes=max_spec_bytes)


def is_terminal(state: State) -> bool:
    """A submission is answered once: `project.created` or `spec.rejected`."""
    return state.answered


def project_id(name: str, request_id: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:30].strip("-") or "project"
    return f"{slug}-{hashlib.sha256(request_id.encode()).hexdigest()[:8]}"


def evolve(state: State, event: Event) -> State:
    match event.payload:
        case ProjectCreated() | SpecRejected():
            return dataclasses.replace(state, answered=True)
        case _:
            return state


def decide(state: State, event: Event | Tick) -> list[Event]:
    match event:
        case Event(payload=SpecSubmitted(document=document)):
            if state.answered:
                return []
            return [_answer(state, event, document)]
        case _:
            return []


def _answer(state: State, cause: Event, document: bytes) -> Event:
    parsed = specdoc.parse(document, state.max_spec_bytes)
    if isinstance(parsed, list):
        return follow(cause, SpecRejected(tuple(parsed)), state.me)
    json = document.lstrip()[:1] in (b"{", b"[")
    spec = Attachment(
        name="spec.json" if json else "spec.yaml",
        media_type="application/json" if json else "application/yaml",
        content=document,
    )
    out = follow(cause, parsed, state.me, attachments=(spec,))
    return dataclasses.replace(out, project_id=project_id(parsed.name, cause.request_id))
