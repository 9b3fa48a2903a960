"""The tamper-evident history of a project: a hash chain over its events in log order (pure).

Each link is sha256(previous link || the event's canonical bytes), starting from 32 zero
bytes. The canonical bytes are the event as the read model keeps it (sorted-key JSON of its
envelope fields, artifacts and payload, the time in epoch ms), so the same chain can be
recomputed from the log (decoded records) and from the `events` table and compared link by
link. `project.sealed` (the published head) is not a link: it seals the chain before it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, NamedTuple

import orjson

from orchestrator.core.envelope import Event
from services.projections.writes import to_json

GENESIS = "00" * 32
SEAL = "project.sealed"
FIELDS = ("event_id", "type", "project_id", "request_id", "causation_id", "actor_role", "actor_area",
          "actor_instance", "occurred_at", "artifacts", "payload")


class Link(NamedTuple):
    position: int
    event_id: str
    type: str
    link: str


class Divergence(NamedTuple):
    """The first link where two chains differ: its index, and the event each side has there."""

    at: int
    expected: str | None  # event id in the reference chain (None: the reference ended)
    found: str | None  # event id in the checked chain (None: it ended, e.g. an event dropped)


def of_event(event: Event) -> dict[str, Any]:
    """A decoded log record in the read model's shape (what `events` rows hold)."""

    return {"event_id": event.event_id, "type": event.type, "project_id": event.project_id,
            "request_id": event.request_id, "causation_id": event.causation_id,
            "actor_role": event.actor.role.value, "actor_area": event.actor.area,
            "actor_instance": event.actor.instance, "occurred_at": event.occurred_at,
            "artifacts": orjson.loads(to_json(event.artifacts)),
            "payload": orjson.loads(to_json(event.payload))}


def canonical(row: dict[str, Any]) -> bytes:
    """The bytes a link hashes; `occurred_at` may be epoch ms, a datetime or ISO text."""
    fields = {k: row.get(k) for k in FIELDS}
    at = fields["occurred_at"]
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    if isinstance(at, datetime):
        at = round(at.timestamp() * 1000)
    fields["occurred_at"] = at
    return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)


def link(previous: str, row: dict[str, Any]) -> str:
    return hashlib.sha256(bytes.fromhex(previous) + canonical(row)).hexdigest()


def links(rows: list[dict[str, Any]], upto: str | None = None) -> list[Link]:
    """The chain of one project's rows in log order: duplicates (a re-delivered event id) and
    seals are skipped, as the projection skips them; `upto` ends it after that event id."""
    out: list[Link] = []
    seen: set[str] = set()
    head = GENESIS
    for row in rows:
        if row["type"] == SEAL or row["event_id"] in seen:
            continue
        seen.add(row["event_id"])
        head = link(head, row)
        out.append(Link(len(out), row["event_id"], row["type"], head))
        if row["event_id"] == upto:
            break
    return out


def head(chain: list[Link]) -> str:
    return chain[-1].link if chain else GENESIS


def first_divergence(reference: list[Link], checked: list[Link]) -> Divergence | None:
    """Where `checked` stops agreeing with `reference` (an altered, dropped, inserted or moved
    event breaks that link and every one after it); None when they are the same chain."""
    for i in range(max(len(reference), len(checked))):
        a = reference[i] if i < len(reference) else None
        b = checked[i] if i < len(checked) else None
        if a is None or b is None or a.link != b.link:
            return Divergence(i, a.event_id if a else None, b.event_id if b else None)
    return None


def first_bad_against_seal(chain: list[Link], sealed_head: str, length: int) -> int | None:
    """With only a sealed head: None if the chain's link at `length` is the head, else the
    index the check fails at (the seal's last link, or the chain's end when it is shorter)."""
    if len(chain) < length:
        return len(chain)
    return None if chain[length - 1].link == sealed_head else length - 1
