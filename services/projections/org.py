"""The org chart's rows (pure): who was hired for each area, and which instances served it.

Both tables merge by rules that do not depend on batch boundaries, so the projector writes
them without loading the stored rows: a role's hire and release times are each kept once
(`coalesce`), an instance's event count adds up and its last-seen time only moves forward.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orchestrator.core.envelope import DEFAULT_TENANT, Event
from orchestrator.core.events import Role, RoleHired, RoleReleased

Row = dict[str, Any]
STAFF_ROLES = frozenset({Role.PM, Role.MONITOR, Role.DEV, Role.QA, Role.DEVOPS})


def fold(roles: dict[tuple[str, str], Row], instances: dict[tuple[str, str, str, str], Row],
         event: Event, at: datetime) -> None:
    """Apply one first-seen event to this batch's org rows."""
    tenant = event.tenant or DEFAULT_TENANT
    match event.payload:
        case RoleHired(role=role, area=area, name=name):
            row = _role(roles, event.project_id, name, role, area, tenant)
            row["hired_at"] = row["hired_at"] or at
        case RoleReleased(role=role, area=area, name=name, reason=reason):
            row = _role(roles, event.project_id, name, role, area, tenant)
            row.update(status="released", released_at=row["released_at"] or at,
                       reason=row["reason"] or reason)
    actor = event.actor
    served = actor.area or getattr(event.payload, "area", None)
    if actor.role in STAFF_ROLES and isinstance(served, str) and event.project_id:
        key = (event.project_id, actor.role.value, served, actor.instance)
        seen = instances.setdefault(key, {"project_id": key[0], "role": key[1], "area": served,
                                          "instance": actor.instance, "events": 0, "first_seen": at,
                                          "last_seen": at, "tenant": tenant})
        seen["events"] += 1
        seen["first_seen"], seen["last_seen"] = min(seen["first_seen"], at), max(seen["last_seen"], at)


def _role(roles: dict[tuple[str, str], Row], pid: str, name: str, role: Role, area: str,
          tenant: str) -> Row:
    return roles.setdefault((pid, name), {
        "project_id": pid, "name": name, "role": role.value, "area": area, "status": "hired",
        "hired_at": None, "released_at": None, "reason": None, "tenant": tenant})


def _merge(table: str, key: tuple[str, ...], sets: str) -> str:
    return (f"INSERT INTO {table} SELECT * FROM jsonb_populate_recordset(NULL::{table}, %s::jsonb) "
            f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {sets}")


SQL = {
    "roles": _merge("roles", ("project_id", "name"),
                    "status = CASE WHEN roles.status = 'released' THEN 'released' ELSE EXCLUDED.status END, "
                    "hired_at = coalesce(roles.hired_at, EXCLUDED.hired_at), "
                    "released_at = coalesce(roles.released_at, EXCLUDED.released_at), "
                    "reason = coalesce(roles.reason, EXCLUDED.reason)"),
    "role_instances": _merge("role_instances", ("project_id", "role", "area", "instance"),
                             "events = role_instances.events + EXCLUDED.events, "
                             "first_seen = least(role_instances.first_seen, EXCLUDED.first_seen), "
                             "last_seen = greatest(role_instances.last_seen, EXCLUDED.last_seen)"),
}
