"""Traces: one span per hop, with ids derived from the events, so the span tree is the causal tree.

The trace id is the request id's 128 bits (a hash of it when it is not a UUID); a span's id
is the event id's last 64 bits (event ids are UUIDs hashed from their cause; a hash of the id
otherwise), and its parent is the span of the causing event. Every record carries its
event's W3C `traceparent` header, whether or not spans are exported: a consumer, or any
tool reading the log, can join the trace without decoding.

Spans are exported only when `OTEL_TRACES_EXPORTER` names an exporter (`otlp`, `console`;
unset or `none`: off, and the SDK is never imported). The OTLP exporter reads the standard
`OTEL_EXPORTER_OTLP_*` variables, the resource `OTEL_SERVICE_NAME` and
`OTEL_RESOURCE_ATTRIBUTES`. A span starts when its cause occurred and ends when its event
was decided; replaying an input exports the same span (same ids) again.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from orchestrator.envelope import Event

HEADER = "traceparent"


def _uuid_hex(text: str) -> str | None:
    """The 32 hex digits of a UUID in its usual form (None otherwise), without parsing it."""
    if len(text) != 36 or text[8] != "-":
        return None
    digits = text.replace("-", "").lower()
    return digits if len(digits) == 32 and not digits.strip("0123456789abcdef") else None


@lru_cache(maxsize=4096)
def _trace_hex(request_id: str) -> str:
    digits = _uuid_hex(request_id)
    if digits is None or digits == "0" * 32:
        digits = hashlib.blake2b(request_id.encode(), digest_size=16).hexdigest()
    return digits


def _span_hex(event_id: str) -> str:
    digits = _uuid_hex(event_id)  # ids are UUIDs derived from their cause: their last 64 bits
    if digits is None or digits[16:] == "0" * 16:
        return hashlib.blake2b(event_id.encode(), digest_size=8).hexdigest()
    return digits[16:]


def trace_id(request_id: str) -> int:
    return int(_trace_hex(request_id), 16)


def span_id(event_id: str) -> int:
    return int(_span_hex(event_id), 16)


def traceparent(event: Event) -> bytes:
    """The W3C header of the record carrying `event`: its trace, and its own span as the parent
    of whatever it causes (sampled: spans, when exported, are never dropped here)."""
    return f"00-{_trace_hex(event.request_id)}-{_span_hex(event.event_id)}-01".encode()


def parse(header: bytes) -> tuple[int, int] | None:
    """(trace id, span id) of a `traceparent` value; None when it is not one."""
    parts = header.split(b"-")
    if len(parts) != 4 or len(parts[1]) != 32 or len(parts[2]) != 16:
        return None
    try:
        return int(parts[1], 16), int(parts[2], 16)
    except ValueError:
        return None


class Spans:
    """Exports the span of each decided event; made by `from_environment` (None when off)."""

    def __init__(self, service: str, *processors: Any) -> None:
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider

        from orchestrator import _otel

        self.ids = _otel.FixedIds()
        resource = Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME") or service})
        self.provider = TracerProvider(resource=resource, id_generator=self.ids)
        for processor in processors:
            self.provider.add_span_processor(processor)
        self.tracer = self.provider.get_tracer("orchestrator")

    def hops(self, decided: Iterable[tuple[Event, Event]], attributes: dict[str, Any]) -> None:
        """One span per (as decided, as stamped) event: from its cause's time to its own."""
        from orchestrator import _otel

        for before, after in decided:
            self.ids.next(trace_id(after.request_id), span_id(after.event_id))
            parent = _otel.parent(trace_id(after.request_id),
                                  span_id(after.causation_id) if after.causation_id else None)
            start = min(before.occurred_at, after.occurred_at) * 1_000_000
            span = self.tracer.start_span(after.type, context=parent, start_time=start,
                                          kind=_otel.CONSUMER if after.causation_id else _otel.PRODUCER,
                                          attributes={**attributes, "orchestrator.event_id": after.event_id,
                                                      "orchestrator.event_type": after.type,
                                                      "orchestrator.project_id": after.project_id,
                                                      "orchestrator.request_id": after.request_id,
                                                      "orchestrator.causation_id": after.causation_id or ""})
            span.end(after.occurred_at * 1_000_000)

    def close(self) -> None:
        self.provider.shutdown()


def from_environment(service: str) -> Spans | None:
    """The exporters `OTEL_TRACES_EXPORTER` names (comma-separated), batched; None when off."""
    names = [n.strip().lower() for n in os.environ.get("OTEL_TRACES_EXPORTER", "").split(",")]
    names = [n for n in names if n and n != "none"]
    if not names:
        return None
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    return Spans(service, *(BatchSpanProcessor(_exporter(name)) for name in names))


def _exporter(name: str) -> Any:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter(out=sys.stdout, formatter=lambda s: s.to_json(indent=None) + "\n")
    if name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    raise SystemExit(f"OTEL_TRACES_EXPORTER={name!r}: expected otlp, console or none")
