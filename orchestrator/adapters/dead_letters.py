"""Dead-letter headers: Spring Kafka's `kafka_dlt-*` names, so other tools read ours."""

from __future__ import annotations

import struct
import traceback
from typing import Any


def dead_letter_headers(
    topic: str, partition: int, offset: int, error: BaseException, group: str = ""
) -> list[tuple[str, bytes]]:
    """Spring Kafka's `kafka_dlt-*` headers (partition: int32, offset: int64, big-endian)."""
    return [
        ("kafka_dlt-original-topic", topic.encode()),
        ("kafka_dlt-original-partition", struct.pack(">i", partition)),
        ("kafka_dlt-original-offset", struct.pack(">q", offset)),
        ("kafka_dlt-original-consumer-group", group.encode()),
        ("kafka_dlt-exception-fqcn", f"{type(error).__module__}.{type(error).__name__}".encode()),
        ("kafka_dlt-exception-message", str(error).encode()[:4096]),
        ("kafka_dlt-exception-stacktrace",
         "".join(traceback.format_exception(error)).encode()[:16384]),
    ]


def read_dead_letter_headers(headers: list[tuple[str, bytes]] | None) -> dict[str, Any]:
    found = dict(headers or [])
    out: dict[str, Any] = {}
    for name, value in found.items():
        if not name.startswith("kafka_dlt-"):
            continue
        key = name.removeprefix("kafka_dlt-")
        if key == "original-partition":
            out[key] = struct.unpack(">i", value)[0]
        elif key == "original-offset":
            out[key] = struct.unpack(">q", value)[0]
        else:
            out[key] = value.decode(errors="replace")
    return out

