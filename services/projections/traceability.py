"""Requirement traceability (pure): for each FR/NFR of a project, every dev attempt, QA run
with its report and verdict, rework, deployment and smoke result that carried it.

Built from the project's events in log order, as the read model holds them (`type`,
`payload`, `artifacts`, `occurred_at`, `event_id`). A QA run belongs to the requirements its
`qa.requested` named; a deployment round to those its `devops.requested` named.
"""

from __future__ import annotations

import csv
import hashlib
import io
from typing import Any

Row = dict[str, Any]
DEV_STEPS = {"task.started": "started", "task.completed": "completed", "task.failed": "failed"}
QA = {"qa.passed": "passed", "qa.failed": "failed"}
DEPLOY = {"devops.deployed": ("deploy", "deployed"), "devops.failed": ("deploy", "failed"),
          "smoke.passed": ("smoke", "passed"), "smoke.failed": ("smoke", "failed")}
CSV_COLUMNS = ("requirement", "title", "area", "kind", "task_id", "attempt", "round", "outcome",
               "scope", "occurred_at", "event_id", "artifacts")


class _Trace:
    def __init__(self) -> None:
        self.reqs: dict[str, Row] = {}
        self.of_task: dict[str, list[str]] = {}  # task id -> the requirements it carries now
        self.role: dict[str, str] = {}

    def add(self, ids: list[str], kind: str, row: Row, outcome: str, **extra: Any) -> None:
        p = row["payload"]
        entry = {"kind": kind, "task_id": p.get("task_id"), "attempt": p.get("attempt"),
                 "round": p.get("round"), "outcome": outcome, "occurred_at": row["occurred_at"],
                 "event_id": row["event_id"], **extra,
                 "artifacts": [{k: a[k] for k in ("name", "uri", "sha256", "size")}
                               for a in row["artifacts"]]}
        for rid in ids:
            if (req := self.reqs.get(rid)) is not None:
                req["evidence"].append(entry)
                if kind == "deploy" and outcome == "deployed":
                    req["deployed_at"] = row["occurred_at"]
                    req["status"] = "deployed" if extra.get("scope") == "total" else "partially_deployed"

    def event(self, row: Row) -> None:
        p, kind = row["payload"], row["type"]
        if kind == "project.created":
            for module in p["modules"]:
                for r in module["requirements"]:
                    self.reqs.setdefault(r["id"], {"requirement": r["id"], "title": r["title"],
                                                   "area": module["area"], "status": "open",
                                                   "assigned_at": None, "verified_at": None,
                                                   "deployed_at": None, "evidence": []})
        elif kind == "task.assigned":
            self.of_task[p["task_id"]], self.role[p["task_id"]] = list(p["requirement_ids"]), p["role"]
            for rid in p["requirement_ids"]:
                if (req := self.reqs.get(rid)) is not None and p["role"] == "dev" and not req["assigned_at"]:
                    req["assigned_at"] = row["occurred_at"]
            self.add(p["requirement_ids"], f"{p['role']}_assigned", row, "assigned")
        elif kind in ("qa.requested", "devops.requested"):
            self.of_task[p["task_id"]] = list(p["requirement_ids"])
        elif kind in DEV_STEPS and self.role.get(p["task_id"]) == "dev":
            self.add(self.of_task.get(p["task_id"], []), "dev", row, DEV_STEPS[kind])
        elif kind in QA:
            self.add(self.of_task.get(p["task_id"], []), "qa", row, QA[kind], dev_task_id=p["dev_task_id"])
        elif kind == "task.rework_requested":
            self.add(self.of_task.get(p["task_id"], []), "rework", row, "requested", reason=p["reason"])
        elif kind in DEPLOY:
            what, outcome = DEPLOY[kind]
            self.add(self.of_task.get(p["task_id"], []), what, row, outcome, scope=p["scope"])
        elif kind == "task.verified" and p["role"] == "dev":
            for rid in p["requirement_ids"]:
                if (req := self.reqs.get(rid)) is not None:
                    req["verified_at"] = row["occurred_at"]
                    if req["status"] == "open":
                        req["status"] = "verified"


def trace(rows: list[Row]) -> list[Row]:
    """One entry per requirement, in spec order, each with its evidence in log order."""
    found = _Trace()
    for row in rows:
        found.event(row)
    return list(found.reqs.values())


def to_csv(reqs: list[Row]) -> str:
    """One line per piece of evidence; artifacts as `name=sha256` joined by spaces."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for req in reqs:
        for e in req["evidence"]:
            writer.writerow([req["requirement"], req["title"], req["area"], e["kind"], e["task_id"],
                             e["attempt"], e["round"], e["outcome"], e.get("scope", ""), e["occurred_at"],
                             e["event_id"], " ".join(f"{a['name']}={a['sha256']}" for a in e["artifacts"])])
    return out.getvalue()


def manifest(reqs: list[Row], exports: dict[str, bytes]) -> Row:
    """What an auditor keeps beside the export: every artifact's digest, and each file's."""
    artifacts = {(a["uri"], a["sha256"]): a for req in reqs for e in req["evidence"] for a in e["artifacts"]}
    return {"artifacts": [artifacts[k] for k in sorted(artifacts)],
            "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(exports.items())}}


def summary(req: Row) -> Row:
    """The counts a table shows for one requirement."""
    ev = req["evidence"]

    def count(kind: str, outcome: str | None = None) -> int:
        return sum(1 for e in ev if e["kind"] == kind and outcome in (None, e["outcome"]))

    return {"dev_attempts": len({e["attempt"] for e in ev if e["kind"] == "dev_assigned"}),
            "qa_passed": count("qa", "passed"), "qa_failed": count("qa", "failed"),
            "reworks": count("rework"), "deploys": count("deploy", "deployed"),
            "smoke_failed": count("smoke", "failed")}
