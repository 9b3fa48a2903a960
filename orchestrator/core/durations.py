"""Durations in milliseconds: the executor options' loose form (`150ms`, `1.5m`, a bare `2`
is seconds) and the spec's strict one (an integer and a unit: `500ms`, `45s`, `30m`, `2h`)."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_STRICT = re.compile(r"^([0-9]+)(ms|s|m|h)$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}


def parse_duration(text: str, strict: bool = False) -> int:
    """Milliseconds in `text`; `strict` (the spec's form) refuses decimals and bare numbers."""
    if strict:
        exact = _STRICT.match(text)
        if exact is None:
            raise ValueError(f"duration must look like 500ms, 45s, 30m or 2h, not {text!r}")
        return int(exact.group(1)) * _UNIT_MS[exact.group(2)]
    found = _DURATION.match(text)
    if found is None:
        raise ValueError(f"duration {text!r} is not like 0s, 150ms, 2s, 5m or 1h")
    return int(float(found.group(1)) * _UNIT_MS[found.group(2) or "s"])
