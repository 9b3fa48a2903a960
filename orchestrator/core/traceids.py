"""Trace and span ids derived from the events, so the span tree is the causal tree.

The trace id is the request id's 128 bits (a hash of it when it is not a UUID); a span's id
is the event id's last 64 bits (event ids are UUIDs hashed from their cause; a hash of the id
otherwise), and its parent is the span of the causing event. Every record carries its
event's W3C `traceparent` header, whether or not spans are exported (`adapters.tracing`).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from orchestrator.core.envelope import Event

HEADER = "traceparent"


def _uuid_hex(text: str) -> str | None:
    """The 32 hex digits of a UUID in its usual form (None otherwise), without parsing it."""
    if len(text) != 36 or text[8] != "-":
        return None
    digits = text.replace("-", "").lower()
    return digits if len(digits) == 32 and not digits.strip("0123456789abcdef") else None


@lru_cache(maxsize=4096)
def _trace_hex(request_id: str) -> str:
    digits = _uuid_hex(request_id)
    if digits is None or digits == "0" * 32:
        digits = hashlib.blake2b(request_id.encode(), digest_size=16).hexdigest()
    return digits


def _span_hex(event_id: str) -> str:
    digits = _uuid_hex(event_id)  # ids are UUIDs derived from their cause: their last 64 bits
    if digits is None or digits[16:] == "0" * 16:
        return hashlib.blake2b(event_id.encode(), digest_size=8).hexdigest()
    return digits[16:]


def trace_id(request_id: str) -> int:
    return int(_trace_hex(request_id), 16)


def span_id(event_id: str) -> int:
    return int(_span_hex(event_id), 16)


def traceparent(event: Event) -> bytes:
    """The W3C header of the record carrying `event`: its trace, and its own span as the parent
    of whatever it causes (sampled: spans, when exported, are never dropped here)."""
    return f"00-{_trace_hex(event.request_id)}-{_span_hex(event.event_id)}-01".encode()


def parse(header: bytes) -> tuple[int, int] | None:
    """(trace id, span id) of a `traceparent` value; None when it is not one."""
    parts = header.split(b"-")
    if len(parts) != 4 or len(parts[1]) != 32 or len(parts[2]) != 16:
        return None
    try:
        return int(parts[1], 16), int(parts[2], 16)
    except ValueError:
        return None
