"""Time travel (pure): what a project looked like at a moment or a log position, by folding
its events up to there with the projection's own fold (`projection.fold`).

The events come as the read model holds them and are rebuilt into `Event`s (`codec.from_dict`);
the answer has the live read model's shape (`views.PROJECT`, `views.TASK_COLS`), so at the
position of `project.completed` it equals what the live projection serves.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, NamedTuple

from orchestrator.core import catalog, codec
from orchestrator.core.envelope import Event
from services.projections import projection, rowset
from services.projections.rowset import Rows

Row = dict[str, Any]
PROJECT_COLS = ("project_id", "name", "status", "request_id", "spec_uri", "spec_sha256", "modules",
                "created_at", "updated_at")
MODULE_COLS = ("area", "status", "tasks_total", "tasks_verified", "updated_at")
TASK_COLS = ("task_id", "project_id", "area", "role", "title", "status", "verified", "attempt", "round",
             "assignee", "deadline_ms", "requirement_ids", "updated_at")
_POSITION = re.compile(r"^(?:(\d+):)?(\d+)$")


class Cutoff(NamedTuple):
    """Up to an event time (inclusive), or up to a log position `partition:offset` (inclusive)."""

    at: datetime | None = None
    partition: int | None = None
    offset: int | None = None

    def admits(self, row: Row) -> bool:
        if self.at is not None:
            return _time(row["occurred_at"]) <= self.at
        if self.partition is not None and row["partition"] != self.partition:
            return bool(row["partition"] < self.partition)
        return bool(row["offset"] <= (self.offset or 0))


def parse(value: str) -> Cutoff:
    """`as_of`: an ISO time with a zone, or a log position (`offset` or `partition:offset`)."""
    if match := _POSITION.match(value):
        part, offset = match.groups()
        return Cutoff(partition=None if part is None else int(part), offset=int(offset))
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"as_of must be an ISO time or a log position, not {value!r}") from None
    if at.tzinfo is None:
        raise ValueError(f"as_of needs a time zone: {value!r}")
    return Cutoff(at=at)


def _time(value: Any) -> datetime:
    """A row's time: a datetime, ISO text (JSON from PostgreSQL) or epoch ms."""
    if isinstance(value, int):
        return rowset.timestamp(value)
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def event_of(row: Row) -> Event:
    """An `events` row back into the Event the projector folded."""
    return codec.from_dict({
        **{k: row[k] for k in ("event_id", "project_id", "request_id", "causation_id", "artifacts")},
        "occurred_at": round(_time(row["occurred_at"]).timestamp() * 1000),
        "actor": {"role": row["actor_role"], "area": row["actor_area"], "instance": row["actor_instance"]},
        "payload": (catalog.BY_TYPE[row["type"]].record_name, row["payload"])})


def fold(rows: list[Row], cutoff: Cutoff) -> Rows:
    """The read-model rows after every first-seen event up to `cutoff`, in log order."""
    state, seen = Rows(), set[str]()
    for row in rows:
        if row["event_id"] in seen or not cutoff.admits(row):
            continue
        seen.add(row["event_id"])
        projection.fold(state, event_of(row))
    return state


def stamp(value: Any) -> Any:
    """A time as PostgreSQL's JSON writes it (fraction without trailing zeros)."""
    if not isinstance(value, datetime):
        return value
    text = value.isoformat()
    if "." in text:
        head, rest = text.split(".", 1)
        fraction, zone = rest[:6].rstrip("0"), rest[6:]
        text = f"{head}.{fraction}{zone}" if fraction else f"{head}{zone}"
    return text


def project(state: Rows, project_id: str) -> Row | None:
    """The project as `GET /projects/{id}` answers, or None if it did not exist yet."""
    found = state.projects.get(project_id)
    if found is None:
        return None
    modules = sorted((m for (pid, _), m in state.modules.items() if pid == project_id),
                     key=lambda m: str(m["area"]))
    return {**{c: stamp(found.get(c)) for c in PROJECT_COLS},
            "module_list": [{c: stamp(m.get(c)) for c in MODULE_COLS} for m in modules]}


def tasks(state: Rows, project_id: str) -> list[Row]:
    """The project's tasks as `GET /projects/{id}/tasks` lists them, by task id."""
    return [{c: stamp(t.get(c)) for c in TASK_COLS}
            for _, t in sorted(state.tasks.items()) if t["project_id"] == project_id]
