"""Spans of a run: their tree is the run's causal tree, their ids come from the events."""

from __future__ import annotations

import uuid
from dataclasses import replace
from functools import cache
from pathlib import Path

from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from orchestrator.adapters import client, tracing
from orchestrator.core import codec, traceids
from orchestrator.core.envelope import Event
from orchestrator.entrypoints import dryrun
from services.projections import causal

SHOP = Path(__file__).resolve().parents[2] / "examples" / "specs" / "shop.yaml"
REQUEST = "3f2c9a4e-8b1d-4c7e-9f60-2a5b7c8d9e01"


@cache
def run() -> tuple[Event, ...]:
    submitted = replace(client.submission(SHOP.read_bytes(), "shop.yaml", REQUEST), occurred_at=0)
    return tuple(dryrun.run(submitted))  # time: a counter from 0


def exported(events: tuple[Event, ...]) -> list[object]:
    """The spans the shell exports for `events`, each decided at its cause's time."""
    memory = InMemorySpanExporter()
    spans = tracing.Spans("test", SimpleSpanProcessor(memory))
    when = {e.event_id: e.occurred_at for e in events}
    decided = [(replace(e, occurred_at=when.get(e.causation_id or "", e.occurred_at)), e) for e in events]
    spans.hops(decided, {"orchestrator.service": "test"})
    spans.close()
    return list(memory.get_finished_spans())


def tree_parents(roots: list[causal.Node]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    todo: list[tuple[causal.Node, str | None]] = [(r, None) for r in roots]
    while todo:
        node, parent = todo.pop()
        out[node["event_id"]] = parent
        todo.extend((c, node["event_id"]) for c in node["children"])
    return out


def test_the_span_tree_of_a_run_is_its_causal_tree() -> None:
    events = run()
    rows = [{"event_id": e.event_id, "type": e.type, "occurred_at": e.occurred_at,
             "causation_id": e.causation_id, "actor_role": e.actor.role.value} for e in events]
    expected = {traceids.span_id(child): None if parent is None else traceids.span_id(parent)
                for child, parent in tree_parents(causal.tree(rows)).items()}
    spans = exported(events)
    found = {s.context.span_id: s.parent.span_id if s.parent else None for s in spans}  # type: ignore[attr-defined]
    assert len(spans) == len(events) > 50
    assert found == expected
    assert {s.context.trace_id for s in spans} == {uuid.UUID(REQUEST).int}  # type: ignore[attr-defined]


def test_a_span_runs_from_its_cause_to_its_decision_and_names_its_event() -> None:
    events = run()
    by_id = {e.event_id: e for e in events}
    for span in exported(events):
        attrs = span.attributes  # type: ignore[attr-defined]
        event = by_id[attrs["orchestrator.event_id"]]
        assert span.name == event.type == attrs["orchestrator.event_type"]  # type: ignore[attr-defined]
        cause = by_id.get(event.causation_id or "", event)
        assert span.start_time == cause.occurred_at * 1_000_000  # type: ignore[attr-defined]
        assert span.end_time == event.occurred_at * 1_000_000  # type: ignore[attr-defined]


def test_every_record_carries_the_traceparent_of_its_event() -> None:
    for event in run()[:20]:
        headers = dict(codec.headers(event))
        parsed = traceids.parse(headers["traceparent"])
        assert parsed == (uuid.UUID(REQUEST).int, traceids.span_id(event.event_id))
        assert headers["traceparent"].startswith(b"00-") and headers["traceparent"].endswith(b"-01")


def test_a_request_id_that_is_no_uuid_still_names_one_trace() -> None:
    assert traceids.trace_id("req-7") == traceids.trace_id("req-7") != traceids.trace_id("req-8")
    assert 0 < traceids.trace_id("req-7") < 2**128
    assert traceids.parse(b"garbage") is None


def test_tracing_is_off_without_an_exporter(monkeypatch: object) -> None:
    import pytest

    mp: pytest.MonkeyPatch = monkeypatch  # type: ignore[assignment]
    mp.delenv("OTEL_TRACES_EXPORTER", raising=False)
    assert tracing.from_environment("x") is None
    mp.setenv("OTEL_TRACES_EXPORTER", "none")
    assert tracing.from_environment("x") is None
    mp.setenv("OTEL_TRACES_EXPORTER", "console, otlp")
    spans = tracing.from_environment("x")
    assert spans is not None
    assert len(spans.provider._active_span_processor._span_processors) == 2
    spans.close()
    mp.setenv("OTEL_TRACES_EXPORTER", "jaeger")
    with pytest.raises(SystemExit, match="jaeger"):
        tracing.from_environment("x")


def test_spans_reach_an_otlp_collector_with_the_ids_of_their_events(monkeypatch: object) -> None:
    """OTEL_TRACES_EXPORTER=otlp against a stand-in collector on loopback (OTLP/HTTP protobuf)."""
    import gzip
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    import pytest
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    bodies: list[bytes] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            bodies.append(gzip.decompress(body) if self.headers.get("Content-Encoding") == "gzip" else body)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    mp: pytest.MonkeyPatch = monkeypatch  # type: ignore[assignment]
    mp.setenv("OTEL_TRACES_EXPORTER", "otlp")
    mp.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"http://127.0.0.1:{server.server_port}/v1/traces")
    mp.setenv("OTEL_SERVICE_NAME", "orchestrator-test")
    try:
        spans = tracing.from_environment("ignored")
        assert spans is not None
        events = run()[:40]
        spans.hops([(e, e) for e in events], {})
        spans.close()  # flushes the batch
    finally:
        server.shutdown()
    received = {}
    for body in bodies:
        request = ExportTraceServiceRequest.FromString(body)
        for resource in request.resource_spans:
            names = {a.value.string_value for a in resource.resource.attributes if a.key == "service.name"}
            assert names == {"orchestrator-test"}
            for scope in resource.scope_spans:
                for span in scope.spans:
                    received[int.from_bytes(span.span_id, "big")] = (
                        int.from_bytes(span.trace_id, "big"),
                        int.from_bytes(span.parent_span_id, "big") if span.parent_span_id else None)
    assert received == {traceids.span_id(e.event_id): (
        uuid.UUID(REQUEST).int, traceids.span_id(e.causation_id) if e.causation_id else None) for e in events}
