"""The changelog's state codec: every state of every decider round-trips; versions guard it."""

from __future__ import annotations

import dataclasses
import typing

import msgspec
import pytest

from orchestrator.core.statecodec import Codec, StateFormatError
from tests.unit import traces


def codec_of(name: str) -> Codec:
    decider = traces.definition(name).decider
    return Codec(typing.get_type_hints(decider.initial_state)["return"])


@pytest.mark.parametrize("name", traces.NAMES)
def test_every_state_along_the_example_round_trips(name: str) -> None:
    codec = codec_of(name)
    states = traces.states(name)
    assert len(states) > 1
    for i, state in enumerate(states):
        data = codec.encode(state, {i, 2**64 - 1})
        assert codec.decode(data) == (state, {i, 2**64 - 1})


def test_the_version_names_the_state_shape() -> None:
    versions = {name: codec_of(name).version for name in traces.NAMES}
    assert versions["dev"] == versions["qa"] == versions["devops"]  # one lease protocol
    assert len(set(versions.values())) == 5


def test_a_changed_field_changes_the_version() -> None:
    @dataclasses.dataclass(frozen=True)
    class One:
        a: int

    first = Codec(One).version

    @dataclasses.dataclass(frozen=True)  # type: ignore[no-redef]
    class One:  # the same name, one more field
        a: int
        b: str = ""

    assert Codec(One).version != first


def test_a_record_of_another_version_or_not_a_record_is_refused() -> None:
    codec = codec_of("pm")
    stale = msgspec.msgpack.encode([1, "0000000000000000", [], b""])
    for data in (stale, b"", b"\xc1garbage", msgspec.msgpack.encode({"a": 1})):
        with pytest.raises(StateFormatError):
            codec.decode(data)


def test_decoding_builds_only_the_types_the_state_names() -> None:
    codec = codec_of("cto")
    state = traces.states("cto")[-1]
    plain = msgspec.msgpack.decode(codec.encode(state, set()))
    plain[2][0] = "os.system"  # a tag that is no member of the state's union
    with pytest.raises(StateFormatError):
        codec.decode(msgspec.msgpack.encode(plain))
