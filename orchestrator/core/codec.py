"""The only code that touches bytes: events <-> Avro single-object encoding.

Wire format (Avro spec, "single object encoding"): `C3 01`, the writer schema's 8-byte
CRC-64-AVRO fingerprint (little-endian), then the binary body. Writer schemas are
resolved by fingerprint among every version in `schemas/history`, so old data stays
readable. The Confluent format (a schema registry's) is `adapters.wire`'s.
"""

from __future__ import annotations

import dataclasses
import enum
import io
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any

from fastavro import schemaless_reader, schemaless_writer
from fastavro.schema import parse_schema

from orchestrator.core import catalog, traceids
from orchestrator.core.envelope import Actor, ArtifactRef, Event
from orchestrator.core.schemas import fingerprint_of, load_current, writer_schemas

MARKER = b"\xc3\x01"
HEADER_LEN = 10

Convert = Callable[[Any], Any]


class DecodeError(ValueError):
    """Bytes that are not a record of ours: the reason says which way they are not."""


def _identity(value: Any) -> Any:
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _to_avro(tp: Any) -> Convert:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = _to_avro(next(a for a in typing.get_args(tp) if a is not type(None)))
        return inner if inner is _identity else (lambda v: None if v is None else inner(v))
    if origin is tuple:
        item = _to_avro(typing.get_args(tp)[0])
        return list if item is _identity else (lambda v: [item(x) for x in v])
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return lambda v: v.value
    if dataclasses.is_dataclass(tp):
        return _record_to_avro(tp)  # type: ignore[arg-type]
    return _identity


@cache
def _record_to_avro(cls: type) -> Convert:
    hints = _hints(cls)
    plan = [(f.name, _to_avro(hints[f.name])) for f in dataclasses.fields(cls)]
    return lambda obj: {name: conv(getattr(obj, name)) for name, conv in plan}


def _from_avro(tp: Any) -> Convert:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        arg = next(a for a in typing.get_args(tp) if a is not type(None))
        inner = _from_avro(arg)
        if inner is _identity:
            return inner
        # a named branch (enum, record) of a union reads as (name, value) under return_record_name
        named = isinstance(arg, type) and (issubclass(arg, enum.Enum) or dataclasses.is_dataclass(arg))
        return lambda v: None if v is None else inner(v[1] if named and isinstance(v, tuple) else v)
    if origin is tuple:
        item = _from_avro(typing.get_args(tp)[0])
        return tuple if item is _identity else (lambda v: tuple(item(x) for x in v))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp
    if dataclasses.is_dataclass(tp):
        return _record_from_avro(tp)  # type: ignore[arg-type]
    return _identity


@cache
def _record_from_avro(cls: type) -> Convert:
    hints = _hints(cls)
    plan = [(f.name, _from_avro(hints[f.name])) for f in dataclasses.fields(cls)]
    return lambda d: cls(**{name: conv(d[name]) for name, conv in plan if name in d})


_actor_to = _record_to_avro(Actor)
_actor_from = _record_from_avro(Actor)
_artifact_to = _record_to_avro(ArtifactRef)
_artifact_from = _record_from_avro(ArtifactRef)


def to_dict(event: Event) -> dict[str, Any]:
    entry = catalog.BY_CLASS[type(event.payload)]
    return {
        "event_id": event.event_id,
        "type": entry.type,
        "occurred_at": event.occurred_at,
        "project_id": event.project_id,
        "request_id": event.request_id,
        "causation_id": event.causation_id,
        "tenant": event.tenant,
        "actor": _actor_to(event.actor),
        "artifacts": [_artifact_to(a) for a in event.artifacts],
        "payload": (entry.record_name, _record_to_avro(entry.cls)(event.payload)),
    }


def from_dict(d: dict[str, Any]) -> Event:
    record_name, body = d["payload"]
    entry = catalog.BY_RECORD.get(record_name)
    if entry is None:
        raise DecodeError(f"unknown event record {record_name!r}")
    return Event(
        event_id=d["event_id"],
        project_id=d["project_id"],
        request_id=d["request_id"],
        causation_id=d["causation_id"],
        occurred_at=d["occurred_at"],
        actor=_actor_from(d["actor"]),
        payload=_record_from_avro(entry.cls)(body),
        artifacts=tuple(_artifact_from(a) for a in d["artifacts"]),
        tenant=d.get("tenant"),
    )


@cache
def _current() -> tuple[bytes, Any]:
    schema = load_current()
    return fingerprint_of(schema), parse_schema(schema)


def encode(event: Event) -> bytes:
    """The event in single-object encoding (`adapters.wire` picks the format for a topic)."""
    fp, schema = _current()
    out = io.BytesIO()
    out.write(MARKER)
    out.write(fp)
    schemaless_writer(out, schema, to_dict(event))
    return out.getvalue()


def decode(data: bytes | None) -> Event:
    """A single-object-encoded event, its writer schema found by fingerprint."""
    if not data:
        raise DecodeError("empty record")
    if len(data) < HEADER_LEN or data[:2] != MARKER:
        raise DecodeError("not Avro single-object encoding (no C3 01 marker) nor the Confluent format")
    fp, _reader = _current()
    writer = writer_schemas().get(data[2:HEADER_LEN])
    if writer is None:
        raise DecodeError(f"unknown schema fingerprint {data[2:HEADER_LEN].hex()}")
    return read_body(data, HEADER_LEN, writer, fp if data[2:HEADER_LEN] == fp else None)


def read_body(data: bytes, offset: int, writer: Any, current_fp: bytes | None) -> Event:
    """The envelope after the header; `current_fp` set means the writer is the reader."""
    buf = io.BytesIO(data)
    buf.seek(offset)
    reader = None if current_fp else _current()[1]
    try:
        record = schemaless_reader(buf, writer, reader, return_record_name=True)
    except (EOFError, StopIteration, ValueError, IndexError, KeyError, UnicodeDecodeError) as exc:
        raise DecodeError(f"truncated or corrupt Avro body: {exc!r}") from exc
    if buf.tell() != len(data):
        raise DecodeError(f"{len(data) - buf.tell()} trailing bytes after the Avro body")
    if not isinstance(record, dict):
        raise DecodeError("Avro body is not an envelope record")
    return from_dict(record)


def headers(event: Event) -> list[tuple[str, bytes]]:
    """Routing facts consumers read without decoding: the type, ids, and the task's area and
    role where the payload has them (so a service skips other areas' and roles' events)."""
    out = [
        ("type", event.type.encode()),
        ("event_id", event.event_id.encode()),
        ("request_id", event.request_id.encode()),
        (traceids.HEADER, traceids.traceparent(event)),
    ]
    area, role = getattr(event.payload, "area", None), getattr(event.payload, "role", None)
    if area:
        out.append(("area", area.encode()))
    if role:
        out.append(("role", str(role).encode()))
    return out
