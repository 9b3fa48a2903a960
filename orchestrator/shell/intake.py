"""Records into events: the Avro envelope, or a spec document produced as plain YAML/JSON."""

from __future__ import annotations

from dataclasses import replace

from confluent_kafka import Message

from orchestrator import codec
from orchestrator.envelope import Actor, Event, derive_id
from orchestrator.events import Role, SpecSubmitted
from orchestrator.shell.parts import Parts
from orchestrator.wallclock import now_ms

RAW_SPEC_TYPES = {b"application/yaml", b"application/json", b"text/yaml"}


def decode(parts: Parts, msg: Message, headers: dict[str, bytes]) -> Event:
    value = msg.value() or b""
    if len(value) > parts.settings.max_record_bytes:
        raise codec.DecodeError(f"record of {len(value)} bytes exceeds the limit")
    if parts.defn.intake and headers.get("content-type") in RAW_SPEC_TYPES:
        event = raw_submission(msg.topic() or "", msg.partition() or 0, msg.offset() or 0, value)
    else:
        event = codec.decode(value)
    if parts.tenant is not None and isinstance(event.payload, SpecSubmitted):
        # only this tenant's principals may write its ingestion topic: what the record claims
        # is overruled by where it was written
        return replace(event, tenant=parts.tenant)
    if parts.defn.intake and event.tenant is None and isinstance(event.payload, SpecSubmitted):
        # produced straight to the ingestion topic: ACLs say who may; the tenant is the default
        event = replace(event, tenant=parts.settings.default_tenant)
    return event


def raw_submission(topic: str, partition: int, offset: int, value: bytes) -> Event:
    """A plain spec document: deterministic ids from its place in the topic."""
    request_id = derive_id(f"{topic}/{partition}/{offset}", "request")
    return Event(
        event_id=derive_id(request_id, "spec.submitted"),
        project_id="",
        request_id=request_id,
        causation_id=None,
        occurred_at=now_ms(),
        actor=Actor(Role.CLIENT, None, "kafka"),
        payload=SpecSubmitted(document=value),
    )
