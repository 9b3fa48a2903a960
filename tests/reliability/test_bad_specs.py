"""Bad specs through the ingestion topic and the CLI: each refused with a clear error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from confluent_kafka import KafkaException

from orchestrator import bus, client, demo
from orchestrator.config import Settings

from . import harness
from .conftest import record

pytestmark = pytest.mark.reliability
REPO = Path(__file__).resolve().parents[2]
BAD = sorted((REPO / "examples" / "specs" / "bad").glob("*.yaml"))


@pytest.fixture
def bad_files(tmp_path: Path) -> list[Path]:
    binary = tmp_path / "random.bin"
    binary.write_bytes(bytes(range(256)) * 64 + os.urandom(4096))
    return [*BAD, binary]


def test_every_bad_spec_on_the_topic_gets_spec_rejected(fleet: demo.Fleet, ledger: harness.Ledger,
                                                        bad_files: list[Path]) -> None:
    settings: Settings = fleet.settings
    fleet.start("spec")
    subs = [client.submission(p.read_bytes(), p.name) for p in bad_files]
    good = harness.workload(1, seed=21)[0]
    publisher = bus.Publisher(settings)
    publisher.publish_sync([*subs, client.submission(good.document, "good.yaml", good.request_id)])
    # a 10 MB document is refused at the door: the topic's record limit is max_record_bytes+64KiB
    with pytest.raises(KafkaException) as refused:
        publisher.publish_sync([client.submission(b"a: " + b"x" * 10_000_000, "huge.yaml")], timeout=30)
    assert "MSG_SIZE_TOO_LARGE" in str(refused.value) or "too large" in str(refused.value).lower()
    publisher.close()
    rids = {s.request_id for s in subs}
    events = harness.wait_until(ledger, rids | {good.request_id}, lambda es: harness.all_terminal(rids)(es)
                                and any(e.request_id == good.request_id for e in es), 90)
    outcomes = harness.terminal_of(events)
    for sub, path in zip(subs, bad_files, strict=True):
        assert outcomes.get(sub.request_id) == "spec.rejected", path.name
        rejected = next(e for e in events if e.request_id == sub.request_id and e.type == "spec.rejected")
        errors = rejected.payload.errors  # type: ignore[union-attr]
        assert errors and all(err.message.strip() for err in errors), path.name
    assert any(e.type == "project.created" and e.request_id == good.request_id for e in events)
    assert fleet.dead() == []
    record({"fault": f"bad specs via topic ({len(subs)} + 10 MB)", "projects": len(subs),
            "terminal": sum(outcomes.get(s.request_id) == "spec.rejected" for s in subs),
            "tasks_expected": 0, "tasks_verified": 0, "tasks_lost": 0, "duplicate_effects": 0,
            "log_duplicates": 0, "recovery_s": None, "dlq": 0, "digest": "", "problems": []})


def test_every_bad_spec_through_the_cli_exits_non_zero(fleet: demo.Fleet, bad_files: list[Path],
                                                       tmp_path: Path) -> None:
    fleet.start("spec")
    huge = tmp_path / "huge.yaml"
    huge.write_bytes(b"project: " + b"x" * 10_000_000 + b"\n")
    env = {**os.environ, **demo.settings_env(fleet.settings)}
    for path in [*bad_files, huge]:
        began = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "orchestrator.cli", "submit", str(path), "--wait", "--timeout", "60",
             "--json"], env=env, capture_output=True, timeout=120)
        assert done.returncode != 0, path.name
        if path == huge:  # never reaches the topic: the client says why
            assert b"limited to 1,048,576" in done.stderr, done.stderr[-500:]
            assert b"Traceback" not in done.stderr
            continue
        out = json.loads(done.stdout.decode().strip().splitlines()[-1])
        assert out["outcome"] == "spec.rejected", (path.name, out, time.monotonic() - began)
    assert fleet.dead() == []
