"""The OpenTelemetry SDK pieces `tracing` uses, imported only when spans are exported."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

CONSUMER, PRODUCER = SpanKind.CONSUMER, SpanKind.PRODUCER


class FixedIds(IdGenerator):
    """Hands out the ids set by `next` (the shell's one loop thread makes every span)."""

    def __init__(self) -> None:
        self.trace, self.span = 1, 1

    def next(self, trace_id: int, span_id: int) -> None:
        self.trace, self.span = trace_id, span_id

    def generate_trace_id(self) -> int:
        return self.trace

    def generate_span_id(self) -> int:
        return self.span


def parent(trace_id: int, span_id: int | None) -> Context | None:
    """The causing event's span as a remote parent (None: a root, in the trace of `trace_id`)."""
    if span_id is None:
        return None
    ctx = SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    return trace.set_span_in_context(NonRecordingSpan(ctx))
