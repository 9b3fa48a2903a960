"""Records into events: the Avro envelope, or a spec document produced as plain YAML/JSON."""

from __future__ import annotations

from dataclasses import replace

from confluent_kafka import Message

from orchestrator.adapters import client, wire
from orchestrator.core import codec
from orchestrator.core.envelope import Event, derive_id
from orchestrator.core.events import SpecSubmitted
from orchestrator.shell.parts import Parts

RAW_SPEC_TYPES = {b"application/yaml", b"application/json", b"text/yaml"}


def decode(parts: Parts, msg: Message, headers: dict[str, bytes]) -> Event:
    value = msg.value() or b""
    if len(value) > parts.settings.max_record_bytes:
        raise codec.DecodeError(f"record of {len(value)} bytes exceeds the limit")
    if parts.defn.intake and headers.get("content-type") in RAW_SPEC_TYPES:
        event = raw_submission(msg.topic() or "", msg.partition() or 0, msg.offset() or 0, value)
    else:
        event = wire.decode(value)
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
    return client.submission(value, request_id=derive_id(f"{topic}/{partition}/{offset}", "request"),
                             via="kafka")
