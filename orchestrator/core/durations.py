"""Durations as the executor options write them (`150ms`, `2s`, `5m`, `1h`), in milliseconds."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}


def parse_duration(text: str) -> int:
    """Milliseconds in `150ms`, `2s`, `1.5m`, `1h` (a bare number is seconds)."""
    found = _DURATION.match(text)
    if found is None:
        raise ValueError(f"duration {text!r} is not like 0s, 150ms, 2s, 5m or 1h")
    return int(float(found.group(1)) * _UNIT_MS[found.group(2) or "s"])
