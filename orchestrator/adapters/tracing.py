"""Spans: one per hop, exported when `OTEL_TRACES_EXPORTER` names an exporter.

Ids come from `core.traceids`. Exporters: `otlp`, `console`; unset or `none`: off, and the
SDK is never imported. The OTLP exporter reads the standard `OTEL_EXPORTER_OTLP_*`
variables, the resource `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`. A span starts
when its cause occurred and ends when its event was decided; replaying an input exports the
same span (same ids) again.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any

from orchestrator.core.envelope import Event
from orchestrator.core.traceids import span_id, trace_id


class Spans:
    """Exports the span of each decided event; made by `from_environment` (None when off)."""

    def __init__(self, service: str, *processors: Any) -> None:
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider

        from orchestrator.adapters import _otel

        self.ids = _otel.FixedIds()
        resource = Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME") or service})
        self.provider = TracerProvider(resource=resource, id_generator=self.ids)
        for processor in processors:
            self.provider.add_span_processor(processor)
        self.tracer = self.provider.get_tracer("orchestrator")

    def hops(self, decided: Iterable[tuple[Event, Event]], attributes: dict[str, Any]) -> None:
        """One span per (as decided, as stamped) event: from its cause's time to its own."""
        from orchestrator.adapters import _otel

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
