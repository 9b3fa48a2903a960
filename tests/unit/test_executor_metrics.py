"""A worker's executions are timed by executor kind and outcome."""

from __future__ import annotations

import queue
from typing import cast

from orchestrator.adapters.config import Settings
from orchestrator.core.decider import Worker
from orchestrator.shell.metrics import Metrics
from orchestrator.shell.workers import Executions, Report, Result
from tests.unit import traces


def test_an_execution_is_timed_by_kind_and_outcome(tmp_path: object) -> None:
    worker = cast(Worker, traces.definition("dev").decider)
    state = next(s for s in traces.states("dev") if worker.resume(s))
    claims = worker.resume(state)
    metrics, outbox = Metrics(), queue.SimpleQueue[Report]()
    runs = Executions(Settings(run_dir=tmp_path), outbox, metrics)  # type: ignore[arg-type]
    try:
        runs.sync("p", 0, claims, lambda claim: worker.work_of(state, claim))
        results = []
        while len(results) < len(claims):
            report = outbox.get(timeout=30)
            if isinstance(report, Result):
                results.append(report)
    finally:
        runs.close()
    ok = sum(r.outcome.ok for r in results)

    def count(outcome: str) -> float:
        found = metrics.registry.get_sample_value("orchestrator_executor_duration_seconds_count",
                                                  {"kind": "simulated", "outcome": outcome})
        return found or 0.0

    assert count("succeeded") == ok and count("failed") == len(results) - ok and count("crashed") == 0
    assert ok >= 1
