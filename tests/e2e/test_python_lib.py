"""The python-lib example end to end: real code, real pytest, a real wheel in a scratch venv."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from orchestrator.adapters import artifacts
from orchestrator.entrypoints import demo

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "examples" / "specs" / "python-lib.yaml"


def test_python_lib_is_written_tested_reworked_and_shipped(fleet: demo.Fleet) -> None:
    demo.start_actors(fleet)
    began = time.monotonic()
    outcome, events = demo.run(fleet.settings, SPEC, timeout=240, echo=False)
    took = time.monotonic() - began
    assert fleet.dead() == []
    assert outcome == "project.completed", Counter(e.type for e in events)
    counts = Counter(e.type for e in events)
    assert counts["qa.failed"] == 1 and counts["task.rework_requested"] == 1
    failed = next(e for e in events if e.type == "qa.failed")
    assert failed.payload.failures == ("FR-2",)  # type: ignore[union-attr]
    assert counts["qa.passed"] == 2 and counts["monitor.alert"] == 0
    assert counts["smoke.passed"] == counts["devops.deployed"] >= 1 and counts["smoke.failed"] == 0
    refs = {a.uri: a for e in events for a in e.artifacts}
    names = Counter(a.name for a in refs.values())
    assert names["dist/textkit-0.1.0-py3-none-any.whl"] >= 1 and names["report-FR-2.xml"] == 2
    for ref in refs.values():  # every artifact is there and matches its recorded digest
        assert len(artifacts.fetch(ref)) == ref.size
    print(f"python-lib: project.completed in {took:.1f}s, {len(events)} events, {len(refs)} artifacts")
