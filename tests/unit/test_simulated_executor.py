"""The executor boundary and the simulated executor: deterministic, never raising."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest

from orchestrator.adapters.executors import Outcome, Work, runner_for
from orchestrator.core.durations import parse_duration
from orchestrator.core.events import Executor, Role, Scope


def work(role: Role = Role.QA, round: int = 0, attempt: int = 1, task: str = "p/backend/qa/FR-1",
         reqs: tuple[str, ...] = ("FR-1",), **options: str) -> Work:
    scope = Scope.TOTAL if role == Role.DEVOPS else None
    executor = Executor(role, "simulated", None, {"seed": "7", **options})
    return Work("p", "r", task, role, "backend", attempt, round, reqs, "t", scope, executor)


def run(w: Work) -> Outcome:
    return asyncio.run(runner_for(w.executor).run(w))


def test_the_same_work_gives_the_same_outcome() -> None:
    for w in [work(failure_rate="0.5", task=f"p/backend/qa/FR-{i}") for i in range(20)]:
        assert run(w) == run(w)
    outcomes = {run(work(failure_rate="0.5", round=n)).ok for n in range(30)}
    assert outcomes == {True, False}  # the rate is applied, deterministically per round


def test_fail_first_fails_round_0_and_passes_round_1() -> None:
    first = run(work(fail_first="FR-1, FR-9"))
    assert (first.ok, first.failures) == (False, ("FR-1",))
    assert run(work(fail_first="FR-1", round=1)).ok
    assert run(work(fail_first="FR-2")).ok


def test_fail_first_fails_the_first_round_of_any_role() -> None:
    assert not run(work(Role.DEV, task="p/backend/dev/FR-1", fail_first="FR-1")).ok
    assert run(work(Role.DEV, task="p/backend/dev/FR-1", fail_first="FR-1", round=1)).ok


def test_a_zero_failure_rate_always_passes() -> None:
    for role in (Role.DEV, Role.QA, Role.DEVOPS):
        for n in range(25):
            outcome = run(work(role, round=n, failure_rate="0"))
            assert outcome.ok and outcome.smoke_ok in (None, True), (role, n)


def test_a_full_failure_rate_always_fails_and_qa_lists_every_requirement() -> None:
    outcome = run(work(reqs=("FR-1", "FR-2"), failure_rate="1"))
    assert (outcome.ok, outcome.failures) == (False, ("FR-1", "FR-2"))
    assert not run(work(Role.DEV, failure_rate="1.0")).ok


def test_qa_attaches_a_json_report() -> None:
    (report,) = run(work(reqs=("FR-1", "FR-2"), fail_first="FR-2")).attachments
    assert report.media_type == "application/json"
    body = json.loads(report.content)
    assert (body["passed"], body["failed"]) == (["FR-1"], ["FR-2"])


def test_devops_attaches_a_deploy_log_and_reports_the_smoke_tests() -> None:
    outcome = run(work(Role.DEVOPS, task="p/backend/devops", smoke_failure_rate="1"))
    assert (outcome.ok, outcome.smoke_ok) == (True, False)
    (log,) = outcome.attachments
    assert log.media_type == "text/plain" and b"smoke: FAILED" in log.content
    assert run(work(Role.DEVOPS, task="p/backend/devops")).smoke_ok is True


def test_an_unknown_kind_gives_a_clear_failed_outcome() -> None:
    outcome = run(replace(work(), executor=Executor(Role.QA, "telepathy")))
    assert not outcome.ok and not outcome.failures
    assert "unknown executor kind 'telepathy'" in outcome.summary


@pytest.mark.parametrize("options", [{"duration": "soon"}, {"failure_rate": "2"},
                                     {"smoke_failure_rate": "x"}])
def test_a_misconfigured_simulation_fails_with_a_summary_instead_of_raising(
    options: dict[str, str],
) -> None:
    outcome = run(replace(work(), executor=Executor(Role.QA, "simulated", None, options)))
    assert not outcome.ok and "misconfigured" in outcome.summary


@pytest.mark.parametrize(("text", "ms"), [("0s", 0), ("150ms", 150), ("2s", 2000), ("1.5m", 90_000),
                                          ("1h", 3_600_000), ("3", 3000)])
def test_durations_read_as_milliseconds(text: str, ms: int) -> None:
    assert parse_duration(text) == ms


def test_the_simulated_duration_is_waited_for() -> None:
    async def timed() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        await runner_for(work(duration="30ms").executor).run(work(duration="30ms"))
        return loop.time() - start

    assert asyncio.run(timed()) >= 0.025
