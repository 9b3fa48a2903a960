"""The Confluent wire format (`00`, a 4-byte schema id, the body) and its schema registry.

Used by `codec` only when ORCH_SCHEMA_REGISTRY_URL is set or a record starts with `00`.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from fastavro.schema import parse_schema

from orchestrator import codec
from orchestrator.schemas import load_current


class RegistryUnavailable(RuntimeError):
    """The registry could not be asked: not the record's fault, so never a dead letter."""


@cache
def env_registry_url() -> str | None:
    from orchestrator import config

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
