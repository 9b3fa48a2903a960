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

from orchestrator.core.envelope import Actor, ArtifactRef, Event
from orchestrator.core.events import (
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
    return [{**chain.of_event(e), "partition": 0, "offset": i} for i, e in enumerate(project_events(n, p))]


def project_events(n: int, p: str) -> list[Event]:
    reqs = {a: tuple(Requirement(f"FR-{i}", f"r{i}") for i in range(n) if i % len(AREAS) == k)
            for k, a in enumerate(AREAS)}
    payloads: list[Any] = [ProjectCreated(p, "", tuple(Module(a, r) for a, r in reqs.items()), Policy())]
    for area, found in reqs.items():
        for r in found:
            payloads += _requirement(p, area, r.id, int(r.id[3:]) % 5 == 0)
    payloads.append(ProjectCompleted(AREAS))
    events: list[Event] = []
    cause = None
    for i, payload in enumerate(payloads):
        refs = (REPORT,) if isinstance(payload, QaFailed | QaPassed) else ()
        event = Event(f"{p}-e{i}", p, f"{p}-req", cause, 1_700_000_000_000 + 1000 * i,
                      Actor(Role.PM, None, "x"), payload, refs)
        events.append(event)
        cause = event.event_id
    return events


def through_api(n: int, repeat: int) -> dict[str, float]:
    """The same views served by the API over the local stack's read model (SQL included)."""
    import uuid

    from fastapi.testclient import TestClient

    from orchestrator.adapters import bus, config, kafka_topics, stack
    from services.projections import projector, views
    from services.projections.api import create_app

    settings = config.load()
    stack.up(settings)  # stopped again at the end
    kafka_topics.provision(settings)
    p = f"bench-{uuid.uuid4().hex[:8]}"
    publisher = bus.Publisher(settings)
    try:
        publisher.publish_sync(project_events(n, p))
    finally:
        publisher.close()
    projector.run_until_caught_up(settings, views.LIVE_SCHEMA)
    later = "2100-01-01T00:00:00%2B00:00"
    routes = {"traceability": f"/projects/{p}/traceability",
              "traceability csv": f"/projects/{p}/traceability?format=csv",
              "chain": f"/projects/{p}/chain", "causal tree": f"/requests/{p}-req/tree",
              "time travel": f"/projects/{p}?as_of={later}",
              "tasks as of": f"/projects/{p}/tasks?as_of={later}",
              "delivery": f"/metrics/delivery?project={p}"}
    try:
        with TestClient(create_app(settings)) as api:
            for path in routes.values():
                assert api.get(path).status_code == 200, path
            return {name: timed(lambda path=path: api.get(path), repeat) for name, path in routes.items()}
    finally:
        stack.down(settings)


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
    parser.add_argument("--api", action="store_true", help="also through the API on the local stack")
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
    found: dict[str, Any] = {"requirements": args.requirements, "events": len(rows),
                             "ms": {name: timed(fn, args.repeat) for name, fn in views.items()}}
    if args.api:
        found["api_ms"] = through_api(args.requirements, args.repeat)
    print(json.dumps(found, indent=2))


if __name__ == "__main__":
    main()
