"""The artifact store: local and fsspec (memory://) roots, digest checks, `artifacts get`."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator.adapters import artifacts
from orchestrator.core.envelope import Attachment
from orchestrator.entrypoints.cli import app

REPORT = Attachment("qa-report.json", "application/json", b'{"passed": ["FR-1"]}')


@pytest.mark.parametrize("root", ["local", "memory://store-test"])
def test_store_then_fetch_verifies(tmp_path: Path, root: str) -> None:
    where = str(tmp_path / "a") if root == "local" else root
    ref = artifacts.store(where, REPORT)
    assert ref.sha256 == hashlib.sha256(REPORT.content).hexdigest()
    assert ref.size == len(REPORT.content) and ref.media_type == "application/json"
    assert ref.uri.startswith("file://" if root == "local" else "memory://")
    assert ref.uri.endswith(f"/{ref.sha256[:2]}/{ref.sha256}/qa-report.json")
    assert artifacts.fetch(ref) == REPORT.content
    assert artifacts.store(where, REPORT) == ref  # content-addressed: the same object again


def test_a_tampered_object_fails_verification(tmp_path: Path) -> None:
    ref = artifacts.store("memory://tamper", REPORT)
    import fsspec

    fsspec.filesystem("memory").pipe_file(ref.uri.removeprefix("memory://"), b"changed")
    with pytest.raises(artifacts.DigestMismatch, match="7 bytes"):
        artifacts.fetch(ref)


def test_artifacts_get_writes_the_verified_bytes_or_exits_non_zero(tmp_path: Path) -> None:
    env = {"ORCH_RUN_DIR": str(tmp_path), "ORCH_DATABASE_URL": "", "ORCH_KAFKA_BOOTSTRAP": ""}
    ref = artifacts.store(str(tmp_path / "a"), REPORT)
    out = tmp_path / "got.json"
    done = CliRunner().invoke(app, ["artifacts", "get", ref.uri, "-o", str(out)], env=env)
    assert done.exit_code == 0, done.output
    assert out.read_bytes() == REPORT.content
    Path(ref.uri.removeprefix("file://")).write_bytes(b"tampered")
    done = CliRunner().invoke(app, ["artifacts", "get", ref.uri, "-o", str(tmp_path / "x")], env=env)
    assert done.exit_code == 3 and "digest mismatch" in done.output
    done = CliRunner().invoke(app, ["artifacts", "get", "memory://nope/x", "--sha256", "00"], env=env)
    assert done.exit_code == 1 and "cannot read" in done.output
