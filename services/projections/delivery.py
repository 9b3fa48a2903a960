"""Delivery metrics from the log (pure): four DORA-style keys, computed from events only.

- lead time per requirement: its first dev `task.assigned` -> the first `devops.deployed`
  of a round whose `devops.requested` named it;
- deploy frequency: `devops.deployed` per day over the window;
- change-failure rate: (`qa.failed` + `smoke.failed`) per `devops.deployed`;
- time to restore: a `monitor.alert` on a task -> that task's next `task.verified`.
Grouped per project and per (project, area). The window keeps events whose time is in it.
"""

from __future__ import annotations

import statistics
from datetime import datetime
from typing import Any

Row = dict[str, Any]
TYPES = ("task.assigned", "devops.requested", "devops.deployed", "qa.failed", "smoke.failed",
         "monitor.alert", "task.verified")
DAY_MS = 86_400_000


def _ms(value: Any) -> int:
    if isinstance(value, int):
        return value
    at = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return round(at.timestamp() * 1000)


class _Group:
    def __init__(self) -> None:
        self.assigned: dict[str, int] = {}
        self.deployed: dict[str, int] = {}
        self.deploys = self.qa_failed = self.smoke_failed = 0
        self.restores: list[int] = []
        self.first: int | None = None
        self.last: int | None = None

    def seen(self, at: int) -> None:
        self.first = at if self.first is None else min(self.first, at)
        self.last = at if self.last is None else max(self.last, at)

    def report(self, window_ms: int | None) -> Row:
        leads = {r: self.deployed[r] - a for r, a in self.assigned.items() if r in self.deployed}
        span = window_ms or max(DAY_MS, (self.last or 0) - (self.first or 0))
        return {"requirements": len(self.assigned), "deployed_requirements": len(leads),
                "lead_time_s": {r: leads[r] / 1000 for r in sorted(leads)},
                "lead_time_median_s": statistics.median(leads.values()) / 1000 if leads else None,
                "deploys": self.deploys, "deploys_per_day": round(self.deploys * DAY_MS / span, 3),
                "qa_failures": self.qa_failed, "smoke_failures": self.smoke_failed,
                "change_failure_rate": round((self.qa_failed + self.smoke_failed) / self.deploys, 3)
                if self.deploys else None,
                "restores": len(self.restores),
                "time_to_restore_median_s":
                    statistics.median(self.restores) / 1000 if self.restores else None}


def metrics(rows: list[Row], since: datetime | None = None, until: datetime | None = None) -> Row:
    """{"projects": {id: keys}, "areas": {"id/area": keys}, "tenants": {tenant: keys}} over the
    events in the window (a row without a tenant is the default tenant's)."""
    lo = None if since is None else _ms(since)
    hi = None if until is None else _ms(until)
    groups: dict[str, _Group] = {}
    tenants: dict[str, _Group] = {}
    carried: dict[tuple[str, str], list[str]] = {}  # (project, devops task) -> requirements
    alerted: dict[tuple[str, str], int] = {}  # (project, task) -> first open alert time
    seen: set[str] = set()
    for row in rows:
        at, pid, p = _ms(row["occurred_at"]), row["project_id"], row["payload"]
        if row["event_id"] in seen or (lo is not None and at < lo) or (hi is not None and at > hi):
            continue
        seen.add(row["event_id"])
        area = p.get("area", "")
        tenant = tenants.setdefault(row.get("tenant") or "default", _Group())
        for g in (groups.setdefault(pid, _Group()), groups.setdefault(f"{pid}/{area}", _Group()), tenant):
            g.seen(at)
            # a tenant's requirements are named with their project: FR-1 is in many projects
            _event(g, row["type"], p, at, pid, carried, alerted, qualify=g is tenant)
        key = (pid, p.get("task_id", ""))
        if row["type"] == "monitor.alert":
            alerted.setdefault(key, at)
        elif row["type"] == "task.verified":
            alerted.pop(key, None)
    window = None if lo is None or hi is None else hi - lo
    return {"projects": {k: g.report(window) for k, g in sorted(groups.items()) if "/" not in k},
            "areas": {k: g.report(window) for k, g in sorted(groups.items()) if "/" in k},
            "tenants": {k: g.report(window) for k, g in sorted(tenants.items())}}


def _event(g: _Group, kind: str, p: Row, at: int, pid: str, carried: dict[tuple[str, str], list[str]],
           alerted: dict[tuple[str, str], int], qualify: bool = False) -> None:
    if kind == "task.assigned" and p["role"] == "dev":
        for r in p["requirement_ids"]:
            g.assigned.setdefault(f"{pid}/{r}" if qualify else r, at)
    elif kind == "devops.requested":
        carried[(pid, p["task_id"])] = list(p["requirement_ids"])
    elif kind == "devops.deployed":
        g.deploys += 1
        for r in carried.get((pid, p["task_id"]), []):
            g.deployed.setdefault(f"{pid}/{r}" if qualify else r, at)
    elif kind == "qa.failed":
        g.qa_failed += 1
    elif kind == "smoke.failed":
        g.smoke_failed += 1
    elif kind == "task.verified" and (pid, p["task_id"]) in alerted:
        g.restores.append(at - alerted[(pid, p["task_id"])])
