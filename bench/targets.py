"""The `targets` list of latest.json: one row per target, as ratios measured in the same run.

These machines drift from day to day, so a target is a ratio against a baseline of the same
run where one exists; absolute figures are reported beside them (`target` None) for meaning.
Each issue's part adds its rows in its own function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Row = dict[str, Any]


def row(name: str, value: float | None, target: str | None = None,
        met: Callable[[float], bool] | None = None) -> Row:
    """A target row; `met` None means the figure is reported, not judged."""
    ok = None if value is None or met is None else bool(met(value))
    return {"name": name, "value": None if value is None else round(value, 4), "target": target,
            "met": ok if met is not None else None}


def runtime(r: dict[str, Any]) -> list[Row]:
    """The actor runtime's targets (issue "The actor runtime for the long haul")."""
    return []


def read_side(r: dict[str, Any]) -> list[Row]:
    """The projector's and the API's targets (issue "The read side at speed")."""
    return []


def all_targets(r: dict[str, Any]) -> list[Row]:
    return [*runtime(r), *read_side(r)]
