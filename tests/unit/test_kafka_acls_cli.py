"""`orchestrator kafka acls apply --dry-run` prints the ACL table and connects to nothing."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from orchestrator.adapters import acls
from orchestrator.adapters.config import Settings
from orchestrator.entrypoints.cli import app

ENV = {"ORCH_TOPIC_PREFIX": "acme", "ORCH_PRINCIPAL_TENANTS": "ingest-a=team-a",
       "ORCH_KAFKA_BOOTSTRAP": "127.0.0.1:1"}  # nothing listens there: a connection would fail


def dry_run(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> tuple[int, str]:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(app, ["kafka", "acls", "apply", "--dry-run"])
    return result.exit_code, result.output


def test_the_dry_run_prints_one_line_per_grant_of_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = dry_run(monkeypatch, ENV)
    assert code == 0, out
    table = acls.table(Settings(topic_prefix="acme", principal_tenants="ingest-a=team-a"))
    lines = out.splitlines()
    assert len(lines) == len(table) and len(set(lines)) == len(lines)
    assert "User:ingest-a\ttopic\tacme.specs.team-a\tliteral\twrite" in lines
    assert "User:dev\tgroup\tacme-dev-\tprefixed\tread" in lines
    assert "User:ingest\ttopic\tacme.specs\tliteral\twrite" in lines
    assert not [line for line in lines if line.startswith("User:ingest\t") and "acme.events" in line]
    assert not [line for line in lines if line.startswith("User:admin")]  # a super user needs none


def test_the_dry_run_refuses_a_tenant_principal_named_like_a_service(
        monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = dry_run(monkeypatch, {**ENV, "ORCH_PRINCIPAL_TENANTS": "dev=team-a"})
    assert code == 1 and "names of built-in principals" in out
