"""Specs read from a tenant's own ingestion topic are that tenant's, whatever they claim."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.adapters import client
from orchestrator.adapters.config import Settings
from orchestrator.core import codec
from orchestrator.shell import intake
from orchestrator.shell.parts import Parts
from services.spec.main import definition

S = Settings(kafka_bootstrap="127.0.0.1:9092", topic_prefix="acme",
             principal_tenants="ingest-a=team-a")


@dataclass
class Msg:
    """The three things intake.decode asks of a record."""

    data: bytes

    def value(self) -> bytes:
        return self.data

    def topic(self) -> str:
        return "acme.specs.team-a"

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return 0


def test_a_tenants_intake_reads_its_topic_with_a_group_and_changelog_of_its_own() -> None:
    parts = Parts(definition(), "all", S.model_copy(update={"intake_tenant": "team-a"}))
    assert parts.topic == "acme.specs.team-a"
    assert parts.group == "acme-spec-all-tenant-team-a"
    assert parts.changelog == "acme.spec-all-tenant-team-a.changelog"


def test_a_claimed_tenant_is_overruled_by_the_topic_it_was_written_to() -> None:
    parts = Parts(definition(), "all", S.model_copy(update={"intake_tenant": "team-a"}))
    claim = client.submission(b"project: x", "x.yaml", tenant="team-b")
    assert intake.decode(parts, Msg(codec.encode(claim)), {}).tenant == "team-a"  # type: ignore[arg-type]


def test_the_shared_intake_keeps_the_claim_and_defaults_a_missing_one() -> None:
    parts = Parts(definition(), "all", S)
    assert parts.topic == "acme.specs"
    for claimed, kept in (("team-b", "team-b"), (None, "default")):
        event = client.submission(b"project: x", "x.yaml", tenant=claimed)
        assert intake.decode(parts, Msg(codec.encode(event)), {}).tenant == kept  # type: ignore[arg-type]


def test_a_mapped_principal_submits_to_its_tenants_topic_for_its_tenant() -> None:
    mapped = S.model_copy(update={"kafka_sasl_username": "ingest-a"})
    assert (mapped.ingestion_topic, mapped.submit_tenant) == ("acme.specs.team-a", "team-a")
    assert (S.ingestion_topic, S.submit_tenant) == ("acme.specs", "default")
