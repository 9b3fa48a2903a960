"""The rows a batch of events touches: loaded by the projector, folded into, written once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from orchestrator.core.envelope import DEFAULT_TENANT, Event

Row = dict[str, Any]


class Position(NamedTuple):
    topic: str
    partition: int
    offset: int


@dataclass
class Rows:
    """Stored rows of the keys a batch touches, then the batch's changes to them."""

    projects: dict[str, Row] = field(default_factory=dict)
    modules: dict[tuple[str, str], Row] = field(default_factory=dict)
    tasks: dict[str, Row] = field(default_factory=dict)
    counts: dict[tuple[str, str], list[int]] = field(default_factory=dict)  # [tasks, verified] per module
    alerts: dict[str, Row] = field(default_factory=dict)  # new rows only: inserts keep the first
    rejections: dict[str, Row] = field(default_factory=dict)
    roles: dict[tuple[str, str], Row] = field(default_factory=dict)  # this batch's org rows only
    instances: dict[tuple[str, str, str, str], Row] = field(default_factory=dict)
    approvals: dict[str, Row] = field(default_factory=dict)
    changed: dict[str, set[Any]] = field(default_factory=lambda: {"projects": set(), "modules": set(),
                                                                  "tasks": set(), "approvals": set()})

    def written(self, table: str) -> list[Row]:
        found: dict[Any, Row] = getattr(self, table)
        return [found[k] for k in sorted(self.changed[table])]


class Keys(NamedTuple):
    projects: list[str]
    tasks: list[str]
    approvals: list[str] = []


def touched(events: list[Event]) -> Keys:
    """The project, task and approval ids whose stored rows the fold of `events` needs."""
    tasks = {t for e in events for t in (getattr(e.payload, "task_id", None),
                                         getattr(e.payload, "dev_task_id", None)) if t}
    approvals = {a for e in events if (a := getattr(e.payload, "approval_id", None))}
    return Keys(sorted({e.project_id for e in events if e.project_id}), sorted(tasks), sorted(approvals))


def timestamp(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def tenant_of(event: Event) -> str:
    return event.tenant or DEFAULT_TENANT

