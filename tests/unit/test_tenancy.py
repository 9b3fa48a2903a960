"""The tenant travels in the envelope: through the codec, along `follow`, into the read rows."""

from __future__ import annotations

from dataclasses import replace

from orchestrator.adapters import client, tokens
from orchestrator.core import codec
from orchestrator.core.envelope import DEFAULT_TENANT, Actor, follow
from orchestrator.core.events import Module, Policy, ProjectCreated, Requirement, Role
from services.projections.projection import fold
from services.projections.rowset import Position, Rows
from services.projections.writes import EVENT_COLUMNS, event_row


def _created(tenant: str | None) -> tuple[object, object]:
    submitted = client.submission(b"doc", tenant=tenant)
    module = Module("backend", (Requirement("FR-1", "x", ()),))
    created = follow(replace(submitted, project_id="p"), ProjectCreated("p", "P", (module,), Policy()),
                     Actor(Role.SPEC))
    return submitted, created


def test_the_tenant_survives_the_codec_and_is_copied_to_what_an_event_causes() -> None:
    submitted, created = _created("acme")
    assert codec.decode(codec.encode(submitted)).tenant == "acme"  # type: ignore[arg-type]
    assert created.tenant == "acme"  # type: ignore[attr-defined]


def test_rows_carry_the_tenant_and_events_without_one_belong_to_the_default() -> None:
    for tenant, expected in (("acme", "acme"), (None, DEFAULT_TENANT)):
        _, created = _created(tenant)
        rows = Rows()
        fold(rows, created)  # type: ignore[arg-type]
        assert rows.projects["p"]["tenant"] == expected
        row = dict(zip([c.strip() for c in EVENT_COLUMNS.split(",")],
                       event_row(created, Position("t", 0, 0)), strict=True))  # type: ignore[arg-type]
        assert row["tenant"] == expected


def test_tokens_parse_only_their_own_shape_and_check_the_secret() -> None:
    assert tokens.parse("orch_abc_s3cret") == ("abc", "s3cret")
    assert tokens.parse("orch_abc") is None and tokens.parse("Bearer x") is None
    row = (tokens.digest("s3cret"), ["acme"], ["read"])
    assert tokens.check("s3cret", row, "abc") == tokens.Principal("abc", ("acme",), frozenset({"read"}))
    assert tokens.check("wrong", row, "abc") is None and tokens.check("s3cret", None, "abc") is None
