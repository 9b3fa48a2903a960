"""The broker's ACL table (orchestrator/adapters/acls.py) grants each principal what it needs and no more."""

from __future__ import annotations

import pytest

from orchestrator.adapters import acls
from orchestrator.adapters.config import Settings
from orchestrator.core import actors, catalog

S = Settings(kafka_bootstrap="127.0.0.1:9092", topic_prefix="acme")
TABLE = acls.table(S)


def allowed(principal: str, resource: str, name: str, operation: str) -> bool:
    """As the StandardAuthorizer decides for allow rules: read/write imply describe."""
    ops = {operation, *(("read", "write") if operation == "describe" else ())}
    return any(g.principal == f"User:{principal}" and g.resource == resource and g.operation in ops
               and (name.startswith(g.name) if g.prefixed else name == g.name) for g in TABLE)


def test_the_ingestion_principal_may_write_the_ingestion_topic_and_nothing_else() -> None:
    mine = [g for g in TABLE if g.principal == "User:ingest"]
    assert [(g.resource, g.name, g.prefixed, g.operation) for g in mine] == [
        ("topic", S.specs_topic, False, "write")]
    assert not allowed("ingest", "topic", S.events_topic, "write")


def test_the_reader_reads_the_log_and_writes_or_creates_nothing() -> None:
    assert allowed("reader", "topic", S.events_topic, "read")
    assert {g.operation for g in TABLE if g.principal == "User:reader"} == {"read"}
    assert not allowed("reader", "topic", S.specs_topic, "read")


def test_each_actor_writes_the_log_exactly_when_the_catalog_lets_it_emit_there() -> None:
    for name in actors.ACTORS:
        emits = [e.type for e in catalog.ENTRIES if catalog.may_emit(name, e.type)]
        assert allowed(name, "topic", S.events_topic, "write") == bool(emits), name
        assert not allowed(name, "topic", S.specs_topic, "write"), name


def test_only_spec_reads_the_ingestion_topic_and_the_others_read_the_log() -> None:
    readers = {n for n in actors.SERVICES if allowed(n, "topic", S.specs_topic, "read")}
    assert readers == {"spec"}
    assert all(allowed(n, "topic", S.events_topic, "read") for n in actors.ACTORS if n != "spec")


def test_a_service_keeps_its_own_changelogs_groups_and_transactions_and_none_of_anothers() -> None:
    for name, area in actors.groups():
        changelog, group = S.changelog_topic(name, area), S.group(name, area)
        for other in actors.SERVICES:
            mine = other == name
            for op in ("read", "write", "create"):
                assert allowed(other, "topic", changelog, op) == mine, (other, changelog, op)
            assert allowed(other, "group", group, "read") == mine, (other, group)
            assert allowed(other, "transactional_id", f"{group}.slot-1", "write") == mine


def test_no_rule_reaches_the_cluster_or_grants_every_operation() -> None:
    assert {g.resource for g in TABLE} <= {"topic", "group", "transactional_id"}
    assert {g.operation for g in TABLE} <= {"read", "write", "create", "describe"}
    assert not any(g.principal == f"User:{acls.ADMIN}" for g in TABLE)  # a super user needs none


MAPPED = S.model_copy(update={"principal_tenants": "ingest-a=team-a, ingest-b=team-b"})


def test_a_tenants_principal_writes_its_tenants_ingestion_topic_and_spec_reads_it() -> None:
    table = acls.table(MAPPED)
    assert [(g.resource, g.name, g.operation) for g in table if g.principal == "User:ingest-a"] == [
        ("topic", "acme.specs.team-a", "write")]
    spec_reads = {g.name for g in table if g.principal == "User:spec" and g.operation == "read"}
    assert {"acme.specs", "acme.specs.team-a", "acme.specs.team-b"} <= spec_reads


def test_a_mapping_naming_a_built_in_principal_or_without_a_tenant_is_refused() -> None:
    for bad in ("api=team-a", "ingest=team-a", "ingest-a", "ingest-a=team a"):
        with pytest.raises(ValueError):
            acls.table(S.model_copy(update={"principal_tenants": bad}))


def test_the_lag_principal_describes_the_groups_and_the_log_and_nothing_more() -> None:
    assert allowed("lag", "group", S.group("dev", "backend"), "describe")
    assert allowed("lag", "topic", S.events_topic, "describe")
    assert {g.operation for g in TABLE if g.principal == "User:lag"} == {"describe"}
    assert not allowed("lag", "topic", S.events_topic, "read")
