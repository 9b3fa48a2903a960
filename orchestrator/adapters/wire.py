"""Events on the wire: single-object encoding (`core.codec`) or, with a schema registry,
the Confluent format (`00`, a 4-byte schema id, the body). Readers take both, by first byte.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from fastavro.schema import parse_schema

from orchestrator.adapters import config
from orchestrator.core import codec
from orchestrator.core.envelope import Event
from orchestrator.core.schemas import load_current

CONFLUENT_MAGIC = b"\x00"
CONFLUENT_HEADER_LEN = 5  # magic byte + big-endian int32 schema id


def encode(event: Event, registry_url: str | None = None, topic: str = "") -> bytes:
    """The event's record value: single-object encoding, or with a registry the Confluent
    format (schema registered under `<topic>-value`). `bus.record_for` picks from settings."""
    if not registry_url:
        return codec.encode(event)
    data = serializer(registry_url, topic)(event, context(topic))
    assert data is not None
    return bytes(data)


def decode(data: bytes | None, registry_url: str | None = None) -> Event:
    """Either wire format, told apart by the first byte; the registry (default: the
    environment's ORCH_SCHEMA_REGISTRY_URL) is asked only for Confluent-format records."""
    if data and data[:1] == CONFLUENT_MAGIC and len(data) > CONFLUENT_HEADER_LEN:
        schema_id = int.from_bytes(data[1:CONFLUENT_HEADER_LEN], "big")
        writer = writer_schema(registry_url or env_registry_url(), schema_id)
        return codec.read_body(data, CONFLUENT_HEADER_LEN, writer, None)
    return codec.decode(data)


class RegistryUnavailable(RuntimeError):
    """The registry could not be asked: not the record's fault, so never a dead letter."""


@cache
def env_registry_url() -> str | None:

    return config.load().schema_registry_url


@cache
def _registry(url: str) -> Any:
    from confluent_kafka.schema_registry import SchemaRegistryClient

    return SchemaRegistryClient.new_client({"url": url})


def context(topic: str) -> Any:
    from confluent_kafka.serialization import MessageField, SerializationContext

    return SerializationContext(topic, MessageField.VALUE)


@cache
def serializer(url: str, topic: str) -> Any:
    from confluent_kafka.schema_registry.avro import AvroSerializer

    schema = json.dumps(load_current())
    return AvroSerializer(_registry(url), schema, lambda e, _ctx: codec.to_dict(e))


@cache
def writer_schema(url: str | None, schema_id: int) -> Any:
    """The writer schema registered under `schema_id`, parsed; asked once per process."""
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    if not url:
        raise codec.DecodeError(f"Confluent-format record (schema id {schema_id}) but no "
                          "ORCH_SCHEMA_REGISTRY_URL to resolve it")
    try:
        found = _registry(url).get_schema(schema_id)
    except SchemaRegistryError as exc:
        if exc.http_status_code == 404:
            raise codec.DecodeError(f"schema id {schema_id} is not in the registry") from exc
        raise RegistryUnavailable(f"{url}: {exc}") from exc
    except Exception as exc:  # transport errors of the HTTP client
        raise RegistryUnavailable(f"{url}: {exc!r}") from exc
    try:
        return parse_schema(json.loads(found.schema_str))
    except (ValueError, TypeError) as exc:
        raise codec.DecodeError(f"schema id {schema_id} is not an Avro schema: {exc}") from exc
