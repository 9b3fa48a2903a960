"""What the spec document's shapes are built of: a strict, frozen base model, non-empty
text, the areas, and durations written as `500ms`, `45s`, `30m` or `2h`."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

_DURATION = re.compile(r"^([0-9]+)(ms|s|m|h)$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}

Area = Literal["backend", "web", "mobile"]
AREAS = ("backend", "web", "mobile")
Text = Annotated[str, StringConstraints(strict=True, strip_whitespace=True, min_length=1)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def duration_ms(text: str) -> int:
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"duration must look like 500ms, 45s, 30m or 2h, not {text!r}")
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


def positive_duration(value: str | None) -> str | None:
    """A validator: an optional duration, if given one greater than zero."""
    if value is not None and duration_ms(value) <= 0:
        raise ValueError("duration must be greater than zero")
    return value


def ms(text: str | None, default: int) -> int:
    return default if text is None else duration_ms(text)
