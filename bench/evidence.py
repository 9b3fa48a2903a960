"""How long each evidence view takes on a 75-requirement project (pure computation).

Builds the event rows a 75-requirement project leaves (one in five requirements fails QA
once and is reworked; three areas; partial deploys per requirement and one total), in the
read model's shape, and times each view over them: the hash chain, traceability with its
CSV, the causal tree, time travel to the end, and the delivery keys. The SQL that fetches
the rows is not included. Run: `.venv/bin/python -m bench.evidence [--requirements N]`.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from orchestrator.envelope import Actor, ArtifactRef, Event
from orchestrator.events import (
    DevopsDeployed,
    DevopsRequested,
    Executor,
    Module,
    Policy,
    ProjectCompleted,
    ProjectCreated,
    QaFailed,
    QaPassed,
    QaRequested,
    Requirement,
    Role,
    Scope,
    SmokePassed,
    TaskAssigned,
    TaskCompleted,
    TaskHeartbeat,
    TaskReworkRequested,
    TaskStarted,
    TaskVerified,
)
from services.projections import causal, chain, delivery, timetravel, traceability

AREAS = ("backend", "frontend", "data")
REPORT = ArtifactRef("qa-report.json", "file:///r.json", "ab" * 32, "application/json", 100)


def _requirement(p: str, area: str, rid: str, fails: bool) -> list[Any]:
    dev, qa, ops = f"{p}/{area}/dev/{rid}", f"{p}/{area}/qa/{rid}", f"{p}/{area}/devops"
    exe = Executor(Role.DEV)
    out: list[Any] = [TaskAssigned(dev, area, Role.DEV, 1, (rid,), rid, 1, 1, exe),
                      TaskStarted(dev, area, Role.DEV, 1, 0, 1),
                      *(TaskHeartbeat(dev, area, Role.DEV, 1, 0, s) for s in range(3)),
                      TaskCompleted(dev, area, Role.DEV, 1, 0, "done"),
                      QaRequested(qa, area, dev, (rid,), 1, 0)]
    if fails:
        out += [QaFailed(qa, area, dev, 1, 0, ("no",)), TaskReworkRequested(dev, area, 1, 1, "no"),
                TaskCompleted(dev, area, Role.DEV, 1, 1, "fixed"), QaRequested(qa, area, dev, (rid,), 1, 1)]
    return [*out, QaPassed(qa, area, dev, 1, 1, "ok"), TaskVerified(dev, area, Role.DEV, (rid,)),
            DevopsRequested(ops, area, Scope.PARTIAL, (rid,), 1, 0),
            DevopsDeployed(ops, area, Scope.PARTIAL, 1, 0, "staging"),
            SmokePassed(ops, area, Scope.PARTIAL, 1, 0)]


def project_rows(n: int, p: str = "bench") -> list[dict[str, Any]]:
    """The rows of one project with `n` requirements, each event caused by the one before."""
    reqs = {a: tuple(Requirement(f"FR-{i}", f"r{i}") for i in range(n) if i % len(AREAS) == k)
            for k, a in enumerate(AREAS)}
    payloads: list[Any] = [ProjectCreated(p, "", tuple(Module(a, r) for a, r in reqs.items()), Policy())]
    for area, found in reqs.items():
        for r in found:
            payloads += _requirement(p, area, r.id, int(r.id[3:]) % 5 == 0)
    payloads.append(ProjectCompleted(AREAS))
    rows, cause = [], None
    for i, payload in enumerate(payloads):
        refs = (REPORT,) if isinstance(payload, QaFailed | QaPassed) else ()
        event = Event(f"e{i}", p, "req", cause, 1_700_000_000_000 + 1000 * i, Actor(Role.PM, None, "x"),
                      payload, refs)
        rows.append({**chain.of_event(event), "partition": 0, "offset": i})
        cause = event.event_id
    return rows


def timed(fn: Callable[[], Any], repeat: int) -> float:
    """The best of `repeat` runs, in milliseconds."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requirements", type=int, default=75)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rows = project_rows(args.requirements)
    end = timetravel.Cutoff(partition=0, offset=len(rows))
    views = {
        "chain (verify, one side)": lambda: chain.links(rows),
        "traceability + csv": lambda: traceability.to_csv(traceability.trace(rows)),
        "causal tree": lambda: causal.tree(rows),
        "time travel (to the end)": lambda: timetravel.project(timetravel.fold(rows, end), "bench"),
        "delivery metrics": lambda: delivery.metrics(rows),
    }
    print(json.dumps({"requirements": args.requirements, "events": len(rows),
                      "ms": {name: timed(fn, args.repeat) for name, fn in views.items()}}, indent=2))


if __name__ == "__main__":
    main()
