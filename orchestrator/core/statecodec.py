"""Actor states <-> changelog bytes: typed by the state's own hints, versioned, never pickle.

A state is a tree of frozen dataclasses, enums, tuples, frozensets, dicts and Events. Its
plain form follows the type hints: a dataclass is the list of its fields in order, a
member of a union of several classes is `[class name, fields]`; msgpack (msgspec) turns
that into bytes. Decoding builds only the types the hints name, so a record of the shared
changelog can never run code. The version is a digest of the type structure: change a
field of any state type and old records stop matching (the shell then rebuilds the state
by replaying the log).
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import sys
import types
import typing
from array import array
from collections.abc import Callable
from functools import cache
from typing import Any

import msgspec

FORMAT = 1
Convert = Callable[[Any], Any]


class StateFormatError(ValueError):
    """Bytes that are not a state record of this version."""


@dataclasses.dataclass(frozen=True)
class Codec:
    """Encodes and decodes one decider's state type (`state_type`: the class or union)."""

    state_type: Any

    @property
    def version(self) -> str:
        return _version(self.state_type)

    def encode(self, state: Any, seen: set[int]) -> bytes:
        packed = array("Q", seen)
        if sys.byteorder == "big":
            packed.byteswap()
        body = [FORMAT, self.version, _to(self.state_type)(state), packed.tobytes()]
        return msgspec.msgpack.encode(body)

    def decode(self, data: bytes) -> tuple[Any, set[int]]:
        try:
            fmt, version, plain, packed = msgspec.msgpack.decode(data)
        except (msgspec.DecodeError, ValueError, TypeError) as exc:
            raise StateFormatError(f"not a state record: {exc}") from exc
        if (fmt, version) != (FORMAT, self.version):
            raise StateFormatError(f"state format {fmt}/{version}, this code writes {FORMAT}/{self.version}")
        try:
            seen = array("Q")
            seen.frombytes(packed)
            if sys.byteorder == "big":
                seen.byteswap()
            return _from(self.state_type)(plain), set(seen)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise StateFormatError(f"state record does not fit {self.version}: {exc!r}") from exc


def _members(tp: Any) -> tuple[Any, ...]:
    return tuple(a for a in typing.get_args(tp) if a is not type(None))


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


@cache
def _hints(cls: type) -> tuple[tuple[str, Any], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(cls))


@cache
def _to(tp: Any) -> Convert:
    if tp in (int, str, bool, float, bytes, type(None)):
        return _same
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if _is_union(tp):
        members = _members(tp)
        if len(members) == 1:
            inner = _to(members[0])
            return lambda v: None if v is None else inner(v)
        classes = [m for m in members if isinstance(m, type) and dataclasses.is_dataclass(m)]
        tags = {m: (m.__name__, _to(m)) for m in classes}
        if len(tags) != len(members):
            raise TypeError(f"unsupported union {tp}: only classes may be mixed")
        return lambda v: None if v is None else [tags[type(v)][0], tags[type(v)][1](v)]
    if origin in (tuple, frozenset, set, list):
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            items = [_to(a) for a in args]
            return lambda v: [conv(x) for conv, x in zip(items, v, strict=True)]
        item = _to(args[0])
        if origin in (tuple, list):
            return lambda v: [item(x) for x in v]
        return lambda v: _sorted([item(x) for x in v])
    if origin is dict:
        k, val = _to(args[0]), _to(args[1])
        if args[0] is str:
            return lambda v: {key: val(x) for key, x in v.items()}
        return lambda v: [[k(key), val(x)] for key, x in v.items()]
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return lambda v: v.value
    if dataclasses.is_dataclass(tp):
        plan = [(name, _to(hint)) for name, hint in _hints(tp)]  # type: ignore[arg-type]
        return lambda v: [conv(getattr(v, name)) for name, conv in plan]
    raise TypeError(f"unsupported state field type {tp!r}")


@cache
def _from(tp: Any) -> Convert:
    if tp in (int, str, bool, float, bytes, type(None)):
        return _same
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if _is_union(tp):
        members = _members(tp)
        if len(members) == 1:
            inner = _from(members[0])
            return lambda v: None if v is None else inner(v)
        tags = {m.__name__: _from(m) for m in members}
        return lambda v: None if v is None else tags[v[0]](v[1])
    if origin in (tuple, frozenset, set, list):
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            items = [_from(a) for a in args]
            return lambda v: tuple(conv(x) for conv, x in zip(items, v, strict=True))
        item = _from(args[0])
        build: Callable[[Any], Any] = origin
        return lambda v: build(item(x) for x in v)
    if origin is dict:
        k, val = _from(args[0]), _from(args[1])
        if args[0] is str:
            return lambda v: {key: val(x) for key, x in v.items()}
        return lambda v: {k(key): val(x) for key, x in v}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp
    if dataclasses.is_dataclass(tp):
        convs = [_from(hint) for _, hint in _hints(tp)]  # type: ignore[arg-type]
        cls: Any = tp
        return lambda v: cls(*[conv(x) for conv, x in zip(convs, v, strict=True)])
    raise TypeError(f"unsupported state field type {tp!r}")


def _same(value: Any) -> Any:
    return value


def _sorted(items: list[Any]) -> list[Any]:
    """Set members in a stable order where they compare, so equal states give equal bytes."""
    try:
        return sorted(items)
    except TypeError:
        return items


@cache
def _version(tp: Any) -> str:
    return hashlib.sha256(_shape(tp, frozenset()).encode()).hexdigest()[:16]


def _shape(tp: Any, seen: frozenset[Any]) -> str:
    """A text of the type structure: what a change of format changes."""
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if tp in seen:
            return tp.__qualname__
        fields = ",".join(f"{n}:{_shape(h, seen | {tp})}" for n, h in _hints(tp))
        return f"{tp.__module__}.{tp.__qualname__}({fields})"
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return f"{tp.__qualname__}{{{','.join(str(m.value) for m in tp)}}}"
    if _is_union(tp) or typing.get_args(tp):
        inner = sorted(_shape(a, seen) for a in typing.get_args(tp)) if _is_union(tp) \
            else [_shape(a, seen) for a in typing.get_args(tp)]
        return f"{getattr(typing.get_origin(tp), '__name__', 'union')}[{','.join(inner)}]"
    return getattr(tp, "__name__", repr(tp))
