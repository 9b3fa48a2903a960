"""Records into events: the Avro envelope, or a spec document produced as plain YAML/JSON; and
what becomes of a record no decider can take (a dead letter)."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from confluent_kafka import Message

from orchestrator.adapters import client, dead_letters, wire
from orchestrator.core import codec
from orchestrator.core.envelope import Event, derive_id
from orchestrator.core.events import SpecSubmitted
from orchestrator.shell.parts import Parts

if TYPE_CHECKING:
    from orchestrator.shell.loop import Loop

log = logging.getLogger("orchestrator.loop")
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


def dead_letter(loop: Loop, msg: Message, headers: dict[str, bytes], error: BaseException) -> None:
    p = loop.parts
    log.warning("dead-lettering %s[%s]@%s: %s", msg.topic(), msg.partition(), msg.offset(), error)
    extra = dead_letters.dead_letter_headers(msg.topic() or "", msg.partition() or 0,
                                             msg.offset() or 0, error, p.group)
    loop.pending.records.append((p.settings.dlq_topic, msg.key(), msg.value(),
                                 [*headers.items(), *extra], -1))
    loop.pending.urgent = True
    p.metrics.dead.labels(msg.topic() or "").inc()
