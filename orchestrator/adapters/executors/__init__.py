"""The executor boundary: what runs a claimed task, and the simulated executor.

One small interface: `runner_for(executor).run(work) -> Outcome`. A runner never raises
for a bad configuration; it reports `ok=False` with a summary saying what is wrong.
`Work` and `Outcome` live in `orchestrator.core.worker.work` so the pure deciders need nothing here.

Kinds: `simulated` (here), `command` (a process in a per-task workspace), `http` (an
agent endpoint, answering at once or by callback) and `manual` (a person, through
`orchestrator task complete|fail` or the API) and `llm` (a model in a bounded tool loop
over an OpenAI-compatible endpoint); see each module.
"""

from __future__ import annotations

import asyncio
import json
import random
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from orchestrator.adapters import config
from orchestrator.adapters.config import Settings
from orchestrator.adapters.executors.command import CommandRunner
from orchestrator.adapters.executors.http import HttpRunner
from orchestrator.adapters.executors.llm import LlmRunner
from orchestrator.adapters.executors.manual import ManualRunner
from orchestrator.core.durations import parse_duration
from orchestrator.core.envelope import Attachment
from orchestrator.core.events import EXECUTOR_KINDS, Executor, Role
from orchestrator.core.worker.work import Outcome, Work

__all__ = ["Outcome", "Run", "Runner", "SimulatedRunner", "Work", "runner_for", "stopped"]

KINDS = EXECUTOR_KINDS


@dataclass
class Run:
    """What the shell says of a run it cancels: `stopped` when the claim is no longer wanted
    (the task was cancelled, handed over, its module or project ended), not when the
    partition merely moved (its new owner runs the claim again). Set before the cancel."""

    stopped: bool = False


RUN: ContextVar[Run | None] = ContextVar("orchestrator_run", default=None)


def stopped() -> bool:
    """In a runner's `CancelledError` handler: is this run stopped for good? An executor
    tells its agent to stop only then (the `http` executor's `cancel_url`)."""
    run = RUN.get()
    return run is not None and run.stopped


class Runner(Protocol):
    async def run(self, work: Work) -> Outcome: ...


def runner_for(executor: Executor, settings: Settings | None = None) -> Runner:
    """The runner of `executor`; `settings` (else the environment's) locate run dir and servers."""
    if executor.kind == "simulated":
        return SimulatedRunner(dict(executor.options))
    if executor.kind in KINDS:

        kinds: dict[str, type[CommandRunner | HttpRunner | ManualRunner | LlmRunner]] = {
            "command": CommandRunner, "http": HttpRunner, "manual": ManualRunner,
            "llm": LlmRunner}
        return kinds[executor.kind](dict(executor.options), settings or config.load())
    return _Refused(f"unknown executor kind {executor.kind!r} for role {executor.role}; "
                    f"known kinds: {', '.join(KINDS)}")


@dataclass(frozen=True)
class _Refused:
    summary: str

    async def run(self, work: Work) -> Outcome:
        return Outcome(ok=False, summary=self.summary)


@dataclass(frozen=True)
class SimulatedRunner:
    """Deterministic stand-in for real work: the same work and seed give the same outcome.

    Options: `duration` (`0s`, `150ms`, `2s`), `failure_rate` and, for DevOps,
    `smoke_failure_rate` (0..1), `seed`, and `fail_first` (requirement ids that fail in
    round 0 and pass afterwards).
    """

    options: dict[str, str]

    async def run(self, work: Work) -> Outcome:
        try:
            delay_ms = parse_duration(self.options.get("duration", "0s"))
            rate = _rate(self.options, "failure_rate")
            smoke_rate = _rate(self.options, "smoke_failure_rate")
        except ValueError as exc:
            return Outcome(ok=False, summary=f"simulated executor misconfigured: {exc}")
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)
        return simulate(work, self.options.get("seed", "0"), rate, smoke_rate,
                        _ids(self.options.get("fail_first", "")))


def simulate(
    work: Work, seed: str, rate: float, smoke_rate: float, fail_first: frozenset[str]
) -> Outcome:
    rng = random.Random(f"{seed}|{work.task_id}|{work.attempt}|{work.round}")
    first = {r for r in work.requirement_ids if work.round == 0 and r in fail_first}
    if work.role == Role.QA:  # QA judges each requirement on its own
        failing = tuple(r for r in work.requirement_ids if rng.random() < rate or r in first)
    else:
        failing = tuple(sorted(first)) or ((work.task_id,) if rng.random() < rate else ())
    match work.role:
        case Role.QA:
            report = _report(work, failing)
            if failing:
                return Outcome(False, f"{len(failing)} requirement(s) failed: {', '.join(failing)}",
                               failures=failing, attachments=(report,))
            return Outcome(True, f"{len(work.requirement_ids)} requirement(s) passed",
                           attachments=(report,))
        case Role.DEVOPS:
            smoke_ok = rng.random() >= smoke_rate
            log = _deploy_log(work, not failing, smoke_ok)
            if failing:
                return Outcome(False, f"simulated deploy ({work.scope}) failed",
                               attachments=(log,))
            summary = f"deployed {work.scope}; smoke tests {'passed' if smoke_ok else 'failed'}"
            return Outcome(True, summary, smoke_ok=smoke_ok, attachments=(log,))
        case _:
            if failing:
                return Outcome(False, f"simulated failure on {', '.join(failing)}")
            return Outcome(True, f"implemented {', '.join(work.requirement_ids) or work.task_id}")


def _rate(options: dict[str, str], name: str) -> float:
    raw = options.get(name, "0")
    try:
        rate = float(raw)
    except ValueError:
        raise ValueError(f"{name} {raw!r} is not a number") from None
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"{name} {raw!r} is not between 0 and 1")
    return rate


def _ids(text: str) -> frozenset[str]:
    return frozenset(part.strip() for part in text.split(",") if part.strip())


def _report(work: Work, failing: tuple[str, ...]) -> Attachment:
    body = {
        "task_id": work.task_id,
        "attempt": work.attempt,
        "round": work.round,
        "passed": [r for r in work.requirement_ids if r not in failing],
        "failed": list(failing),
    }
    content = json.dumps(body, sort_keys=True, indent=2).encode()
    return Attachment("qa-report.json", "application/json", content)


def _deploy_log(work: Work, deployed: bool, smoke_ok: bool) -> Attachment:
    lines = [
        f"deploy {work.task_id} attempt {work.attempt} round {work.round} scope {work.scope}",
        f"requirements: {', '.join(work.requirement_ids)}",
        "deploy: ok" if deployed else "deploy: FAILED",
        *([f"smoke: {'ok' if smoke_ok else 'FAILED'}"] if deployed else []),
    ]
    return Attachment("deploy.log", "text/plain", ("\n".join(lines) + "\n").encode())
