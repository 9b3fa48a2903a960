"""The hash chain: known heads, and altered, dropped and reordered events found at their link."""

from __future__ import annotations

import dataclasses
import hashlib

from orchestrator.core.envelope import Actor, Event
from orchestrator.core.events import ProjectCompleted, ProjectSealed, Role, TaskHeartbeat
from services.projections import chain


def ev(n: int, payload: object | None = None) -> Event:
    return Event(f"e{n}", "p", "r1", None, 1_700_000_000_000 + n, Actor(Role.DEV, "backend", "w0"),
                 payload or TaskHeartbeat(f"p/backend/dev/FR-{n}", "backend", Role.DEV, 1, 0, n))  # type: ignore[arg-type]


LOG = [chain.of_event(ev(n)) for n in range(5)]


def test_each_link_hashes_the_previous_link_and_the_canonical_event() -> None:
    links = chain.links(LOG)
    expected = hashlib.sha256(bytes(32) + chain.canonical(LOG[0])).hexdigest()
    assert links[0].link == expected
    assert links[1].link == hashlib.sha256(bytes.fromhex(expected) + chain.canonical(LOG[1])).hexdigest()
    assert chain.head(links) == links[4].link and chain.head([]) == chain.GENESIS


def test_the_read_model_shape_gives_the_same_chain_as_the_decoded_log() -> None:
    stored = [{**row, "occurred_at": f"2023-11-14T22:13:20.00{i}+00:00",
               "payload": dict(reversed(list(row["payload"].items())))} for i, row in enumerate(LOG)]
    assert chain.links(stored) == chain.links(LOG)


def test_an_altered_event_breaks_its_own_link_first() -> None:
    copy = [dict(r) for r in LOG]
    copy[2] = {**copy[2], "payload": {**copy[2]["payload"], "round": 7}}
    assert chain.first_divergence(chain.links(LOG), chain.links(copy)) == chain.Divergence(2, "e2", "e2")


def test_a_dropped_event_is_named_where_it_is_missing() -> None:
    copy = LOG[:3] + LOG[4:]
    assert chain.first_divergence(chain.links(LOG), chain.links(copy)) == chain.Divergence(3, "e3", "e4")
    assert chain.first_divergence(chain.links(LOG), chain.links(LOG[:4])) == chain.Divergence(4, "e4", None)


def test_two_reordered_events_break_the_first_of_them() -> None:
    copy = [*LOG[:1], LOG[2], LOG[1], *LOG[3:]]
    assert chain.first_divergence(chain.links(LOG), chain.links(copy)) == chain.Divergence(1, "e1", "e2")


def test_duplicates_and_seals_are_not_links_and_upto_ends_the_chain() -> None:
    done = chain.of_event(ev(5, ProjectCompleted(("backend",))))
    sealed = chain.of_event(dataclasses.replace(ev(6), payload=ProjectSealed("ab", 6, "e5")))
    full = chain.links([*LOG, LOG[1], done, sealed, chain.of_event(ev(7))], upto="e5")
    assert [k.event_id for k in full] == ["e0", "e1", "e2", "e3", "e4", "e5"]
    assert chain.first_bad_against_seal(full, full[-1].link, 6) is None
    assert chain.first_bad_against_seal(full[:4], full[-1].link, 6) == 4
    assert chain.first_bad_against_seal(full, "00", 6) == 5


def test_a_seal_carries_its_projects_tenant_and_seals_the_same_chain() -> None:
    from services.projections.seal import seal_of

    end = dataclasses.replace(ev(5, ProjectCompleted(("backend",))), tenant="team-a")
    rows = [*LOG, chain.of_event(end)]
    sealed = seal_of(rows, end)
    assert sealed.tenant == "team-a" and sealed.type == chain.SEAL
    assert sealed == dataclasses.replace(seal_of(rows, dataclasses.replace(end, tenant=None)),
                                         tenant="team-a")  # the tenant is the only difference
    assert isinstance(sealed.payload, ProjectSealed)
    assert sealed.payload.head == chain.head(chain.links(rows)) and sealed.payload.length == 6
    assert chain.links([*rows, chain.of_event(sealed)]) == chain.links(rows)  # not a link
