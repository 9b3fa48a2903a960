"""What the spec document's shapes are built of: a strict, frozen base model, non-empty
text, the areas, and durations written as `500ms`, `45s`, `30m` or `2h`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from orchestrator.core.durations import parse_duration

Area = Literal["backend", "web", "mobile"]  # a Literal must spell them: test_specdoc checks it equals AREAS
Text = Annotated[str, StringConstraints(strict=True, strip_whitespace=True, min_length=1)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def positive_duration(value: str | None) -> str | None:
    """A validator: an optional duration, if given one greater than zero."""
    if value is not None and parse_duration(value, strict=True) <= 0:
        raise ValueError("duration must be greater than zero")
    return value


def ms(text: str | None, default: int) -> int:
    return default if text is None else parse_duration(text, strict=True)
