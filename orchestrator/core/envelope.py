"""The envelope every event travels in, and deterministic ids (DESIGN §4, §6).

Output ids derive from the causing event's id and a discriminator, so re-processing an
input yields the same ids and downstream consumers drop the duplicates.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from orchestrator.core.catalog import type_of
from orchestrator.core.events import Payload, Role

_ID_NAMESPACE = uuid.UUID("6f1c2a8e-3b5d-4e7f-9a0b-1c2d3e4f5a6b")
DEFAULT_TENANT = "default"  # the tenant of events written before tenants, and the usual default


@dataclass(frozen=True)
class Actor:
    role: Role
    area: str | None = None
    instance: str = ""


@dataclass(frozen=True)
class ArtifactRef:
    name: str
    uri: str
    sha256: str
    media_type: str
    size: int


@dataclass(frozen=True)
class Attachment:
    """Content a pure decider wants stored; the shell turns it into an ArtifactRef."""

    name: str
    media_type: str
    content: bytes


@dataclass(frozen=True)
class Event:
    event_id: str
    project_id: str
    request_id: str
    causation_id: str | None
    occurred_at: int
    actor: Actor
    payload: Payload
    artifacts: tuple[ArtifactRef, ...] = ()
    tenant: str | None = None  # the project's owner, copied along by `follow`
    attachments: tuple[Attachment, ...] = field(default=(), compare=False, repr=False)

    @property
    def type(self) -> str:
        return type_of(self.payload)


def derive_id(cause_id: str, *parts: object) -> str:
    """A stable id for the event that `cause_id` causes, told apart by `parts`."""
    name = "|".join([cause_id, *(str(p) for p in parts)])
    return str(uuid.uuid5(_ID_NAMESPACE, name))


def follow(
    cause: Event,
    payload: Payload,
    actor: Actor,
    *parts: object,
    attachments: tuple[Attachment, ...] = (),
) -> Event:
    """The event `cause` leads to: same project and request, caused by it, id derived."""
    return Event(
        event_id=derive_id(cause.event_id, type_of(payload), *parts),
        project_id=cause.project_id,
        request_id=cause.request_id,
        causation_id=cause.event_id,
        occurred_at=cause.occurred_at,
        actor=actor,
        payload=payload,
        tenant=cause.tenant,
        attachments=attachments,
    )


@dataclass(frozen=True)
class Tick:
    """Time passing, fed to process deciders (PM, Monitor) by the shell; never on the log."""

    now: int
