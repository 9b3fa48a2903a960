"""What the shell adds to a decided event before it is folded and produced.

Deciders are pure: they copy the cause's time and know nothing of storage. The shell
stamps the time of the decision and this instance's name, stores attached content in
the artifact store (content-addressed, so storing twice is harmless) and encodes the
record, refusing one the log would not take.
"""

from __future__ import annotations

from dataclasses import replace

from orchestrator.adapters import artifacts, bus
from orchestrator.adapters.config import Settings
from orchestrator.adapters.wallclock import now_ms
from orchestrator.core.envelope import Actor, Event

Record = tuple[str, bytes, bytes, list[tuple[str, bytes]]]


class OutputTooLarge(ValueError):
    """A decided event larger than the log accepts: the input is dead-lettered instead."""


def stamp(settings: Settings, me: Actor, events: list[Event]) -> list[Event]:
    now = now_ms()
    out = []
    for event in events:
        event = replace(event, occurred_at=now, actor=replace(event.actor, instance=me.instance))
        if event.attachments:
            refs = tuple(artifacts.store(settings.artifacts, a) for a in event.attachments)
            event = replace(event, artifacts=event.artifacts + refs, attachments=())
        out.append(event)
    return out


def record(settings: Settings, event: Event) -> Record:
    topic, key, value, headers = bus.record_for(settings, event)
    if len(value) > settings.max_record_bytes:
        raise OutputTooLarge(f"{event.type} of {len(value)} bytes exceeds ORCH_MAX_RECORD_BYTES "
                             f"({settings.max_record_bytes})")
    return topic, key, value, headers
