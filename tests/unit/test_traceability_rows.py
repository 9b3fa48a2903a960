"""Requirement traceability on a hand-built project: known attempts, verdicts and deploys."""

from __future__ import annotations

import csv
import hashlib
import io

from orchestrator.core.envelope import Actor, ArtifactRef, Event
from orchestrator.core.events import (
    DevopsDeployed,
    DevopsRequested,
    Executor,
    Module,
    Policy,
    ProjectCreated,
    QaFailed,
    QaPassed,
    QaRequested,
    Requirement,
    Role,
    Scope,
    SmokeFailed,
    TaskAssigned,
    TaskCompleted,
    TaskReworkRequested,
    TaskStarted,
    TaskVerified,
)
from services.projections import chain, traceability

A = "backend"
DEV1, DEV2, QA1, OPS = f"p/{A}/dev/FR-1", f"p/{A}/dev/NFR-1", f"p/{A}/qa/FR-1", f"p/{A}/devops"
REPORT = ArtifactRef("qa-report.json", "file:///r1.json", "ab" * 32, "application/json", 10)
REPORT2 = ArtifactRef("qa-report.json", "file:///r2.json", "cd" * 32, "application/json", 12)


def project() -> list[dict]:
    exe = Executor(Role.DEV)
    reqs = (Requirement("FR-1", "Login"), Requirement("NFR-1", "Fast"))
    steps: list[tuple[object, tuple[ArtifactRef, ...]]] = [
        (ProjectCreated("p", "", (Module(A, reqs),), Policy()), ()),
        (TaskAssigned(DEV1, A, Role.DEV, 1, ("FR-1",), "Login", 1, 1, exe), ()),
        (TaskAssigned(DEV2, A, Role.DEV, 1, ("NFR-1",), "Fast", 1, 1, exe), ()),
        (TaskStarted(DEV1, A, Role.DEV, 1, 0, 1), ()),
        (TaskCompleted(DEV1, A, Role.DEV, 1, 0, "done"), ()),
        (QaRequested(QA1, A, DEV1, ("FR-1",), 1, 0), ()),
        (QaFailed(QA1, A, DEV1, 1, 0, ("no",)), (REPORT,)),
        (TaskReworkRequested(DEV1, A, 1, 1, "no"), ()),
        (TaskCompleted(DEV1, A, Role.DEV, 1, 1, "fixed"), ()),
        (QaPassed(QA1, A, DEV1, 1, 1, "ok"), (REPORT2,)),
        (TaskVerified(DEV1, A, Role.DEV, ("FR-1",)), ()),
        (DevopsRequested(OPS, A, Scope.PARTIAL, ("FR-1",), 1, 0), ()),
        (DevopsDeployed(OPS, A, Scope.PARTIAL, 1, 0, "staging"), ()),
        (SmokeFailed(OPS, A, Scope.PARTIAL, 1, 0, "down"), ()),
    ]
    return [chain.of_event(Event(f"e{i}", "p", "r", None, 1000 * i, Actor(Role.MONITOR, A, "m"),
                                 payload, refs))  # type: ignore[arg-type]
            for i, (payload, refs) in enumerate(steps)]


def test_each_requirement_carries_its_attempts_verdicts_reworks_and_deploys() -> None:
    fr, nfr = traceability.trace(project())
    assert (fr["requirement"], fr["status"], fr["assigned_at"], fr["verified_at"], fr["deployed_at"]) == (
        "FR-1", "partially_deployed", 1000, 10000, 12000)
    assert [(e["kind"], e["outcome"], e["round"]) for e in fr["evidence"]] == [
        ("dev_assigned", "assigned", None), ("dev", "started", 0), ("dev", "completed", 0),
        ("qa", "failed", 0), ("rework", "requested", 1), ("dev", "completed", 1), ("qa", "passed", 1),
        ("deploy", "deployed", 0), ("smoke", "failed", 0)]
    assert fr["evidence"][3]["artifacts"][0]["sha256"] == "ab" * 32
    assert traceability.summary(fr) == {"dev_attempts": 1, "qa_passed": 1, "qa_failed": 1, "reworks": 1,
                                        "deploys": 1, "smoke_failed": 1}
    assert nfr["status"] == "open" and [e["kind"] for e in nfr["evidence"]] == ["dev_assigned"]


def test_the_csv_has_a_line_per_evidence_and_the_manifest_every_digest() -> None:
    reqs = traceability.trace(project())
    text = traceability.to_csv(reqs)
    lines = list(csv.DictReader(io.StringIO(text)))
    assert len(lines) == 10 and lines[3]["artifacts"] == f"qa-report.json={'ab' * 32}"
    found = traceability.manifest(reqs, {"traceability.csv": text.encode()})
    assert [a["sha256"] for a in found["artifacts"]] == ["ab" * 32, "cd" * 32]
    assert found["files"] == {"traceability.csv": hashlib.sha256(text.encode()).hexdigest()}
