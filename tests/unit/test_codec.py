"""The codec: every event type round-trips, the bytes are standard Avro, bad bytes are typed errors."""

from __future__ import annotations

import dataclasses
import io
import json

import avro.io
import avro.schema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.adapters import wire
from orchestrator.core import catalog, codec, traceids
from orchestrator.core.envelope import Actor, ArtifactRef, Event
from orchestrator.core.schemas import load_current

ints = st.integers(min_value=-(2**31), max_value=2**31 - 1)
st.register_type_strategy(int, ints)
st.register_type_strategy(float, st.floats(allow_nan=False))  # NaN is never equal to itself


def events_of(cls: type) -> st.SearchStrategy[Event]:
    return st.builds(
        Event,
        event_id=st.uuids().map(str),
        project_id=st.text(max_size=20),
        request_id=st.text(max_size=20),
        causation_id=st.none() | st.text(max_size=20),
        occurred_at=st.integers(min_value=0, max_value=2**62),
        actor=st.builds(Actor),
        payload=st.builds(cls),
        artifacts=st.lists(st.builds(ArtifactRef, size=st.integers(0, 2**40)), max_size=2).map(tuple),
    )


any_event = st.one_of([events_of(entry.cls) for entry in catalog.ENTRIES])


@settings(max_examples=300, deadline=None)
@given(any_event)
def test_every_event_type_round_trips_through_the_codec(event: Event) -> None:
    assert codec.decode(codec.encode(event)) == event


@settings(max_examples=60, deadline=None)
@given(any_event)
def test_an_independent_avro_implementation_reads_our_bytes(event: Event) -> None:
    data = codec.encode(event)
    schema = avro.schema.parse(json.dumps(load_current()))
    assert data[:2] == b"\xc3\x01"
    assert data[2:10] == schema.fingerprint("CRC-64-AVRO")
    record = avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(io.BytesIO(data[10:])))
    assert record["event_id"] == event.event_id
    assert record["type"] == event.type
    assert record["occurred_at"] == event.occurred_at


@pytest.fixture
def sample() -> bytes:
    entry = catalog.BY_TYPE["project.completed"]
    event = Event("e1", "p1", "r1", None, 1, Actor(role=catalog.e.Role.CTO),
                  entry.cls(modules=("backend",)))
    return codec.encode(event)


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda b: b"", "empty"),
        (lambda b: b"definitely not avro", "marker"),
        (lambda b: b[:2] + b"\x00" * 8 + b[10:], "fingerprint"),
        (lambda b: b[: len(b) // 2], "truncated"),
        (lambda b: b + b"\x00\x01", "trailing"),
        (lambda b: b[:10] + b"\xff" * 40, "corrupt"),
    ],
)
def test_bad_bytes_raise_one_typed_error(sample: bytes, mangle, reason: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(codec.DecodeError) as info:
        codec.decode(mangle(sample))
    assert reason in str(info.value) or reason in ("corrupt",)


def test_headers_route_without_decoding(sample: bytes) -> None:
    event = codec.decode(sample)
    assert dict(codec.headers(event)) == {
        "type": b"project.completed", "event_id": b"e1", "request_id": b"r1",
        "traceparent": traceids.traceparent(event)}


def test_the_confluent_wire_format_round_trips_through_a_registry_client(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """confluent-kafka's in-process mock registry (a unit test; the real registry server is
    in tests/integration/test_schema_registry.py when one can run)."""
    registry = f"mock://orchestrator-test-{id(object())}"
    event = codec.decode(codec.encode(Event("e2", "p", "r", "c", 5, Actor(role=catalog.e.Role.PM),
                                             catalog.e.ModuleCompleted(area="web", tasks=3))))
    data = wire.encode(event, registry, "orchestrator.events")
    assert data[0] == 0  # magic byte, then a 4-byte schema id
    assert wire.decode(data, registry) == event
    assert wire.decode(codec.encode(event), registry) == event  # readers take both formats
    monkeypatch.delenv("ORCH_SCHEMA_REGISTRY_URL", raising=False)
    wire.env_registry_url.cache_clear()
    with pytest.raises(codec.DecodeError, match="no ORCH_SCHEMA_REGISTRY_URL"):
        wire.decode(data)
    with pytest.raises(codec.DecodeError, match="not in the registry"):
        wire.decode(b"\x00\x00\x00\x7f\x7fbody", registry)
    with pytest.raises(codec.DecodeError):
        wire.decode(b"\x07garbage", registry)


def test_a_registry_setting_switches_what_producers_write() -> None:
    from orchestrator.adapters import bus
    from orchestrator.adapters.config import Settings

    event = Event("e3", "p", "r", "c", 5, Actor(role=catalog.e.Role.PM),
                  catalog.e.ModuleCompleted(area="web", tasks=3))
    plain = bus.record_for(Settings(), event)[2]
    registry = f"mock://orchestrator-settings-{id(object())}"
    confluent = bus.record_for(Settings(schema_registry_url=registry), event)[2]
    assert plain[:2] == codec.MARKER and confluent[0] == 0
    assert wire.decode(confluent, registry) == wire.decode(plain) == event



def test_records_of_the_last_shipped_version_read_with_the_new_fields_defaults() -> None:
    """pm.escalated `kind` and task.assigned `pair_task_id` came after v0003: its records
    read as None and "" (the CTO's general rule; the pairing by the plan's old ids)."""
    from fastavro import parse_schema, schemaless_writer

    from orchestrator.core.events import AlertKind, Executor, PmEscalated, Role, TaskAssigned
    from orchestrator.core.schemas import SCHEMA_DIR, fingerprint_of

    v3 = json.loads((SCHEMA_DIR / "history" / "v0003.json").read_text())
    assigned = TaskAssigned("p/web/dev/FR-1", "web", Role.DEV, 1, ("FR-1",), "t", 1, 1,
                            Executor(Role.DEV), pair_task_id="p/web/qa/FR-1")
    escalated = PmEscalated("p/web/dev/FR-1", "web", "budget: spent", 2, AlertKind.BUDGET)
    cases = [(assigned, dataclasses.replace(assigned, pair_task_id="")),
             (escalated, dataclasses.replace(escalated, kind=None))]
    for payload, expected in cases:
        out = io.BytesIO()
        out.write(codec.MARKER + fingerprint_of(v3))
        event = Event("e-1", "p", "r", None, 1, Actor(Role.PM, "web"), payload)
        schemaless_writer(out, parse_schema(v3), codec.to_dict(event))  # v0003 has no new field
        assert codec.decode(out.getvalue()).payload == expected
        assert codec.decode(codec.encode(event)).payload == payload  # the current version keeps it
