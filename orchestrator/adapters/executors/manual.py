"""The `manual` executor: the claim waits for a person's verdict on the callbacks channel.

How a person answers, and how deadlines and leases treat the wait: docs/executors.md, section `manual`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from orchestrator.adapters import artifacts, callback_hub, callbacks
from orchestrator.adapters.config import Settings
from orchestrator.core.durations import parse_duration
from orchestrator.core.envelope import Attachment
from orchestrator.core.events import Role
from orchestrator.core.worker.work import Outcome, Work

DEFAULT_WAIT = "24h"


@dataclass(frozen=True)
class ManualRunner:
    options: dict[str, str]
    settings: Settings

    async def run(self, work: Work) -> Outcome:
        try:
            wait_s = parse_duration(self.options.get("wait", DEFAULT_WAIT)) / 1000
        except ValueError as exc:
            return Outcome(False, f"manual executor misconfigured: {exc}")
        return await await_verdict(self.settings, work, wait_s, "a person")


async def await_verdict(settings: Settings, work: Work, wait_s: float, who: str) -> Outcome:
    hub = await asyncio.to_thread(callback_hub.hub, settings)
    try:
        verdict = await asyncio.wait_for(hub.wait(work.task_id, work.attempt, work.round), wait_s)
    except TimeoutError:
        return Outcome(False, f"no verdict from {who} within {wait_s:g}s")
    return outcome_of(work, verdict.ok, verdict.summary, verdict.failures, verdict.smoke_ok,
                      await asyncio.to_thread(_attachments, verdict))


def outcome_of(work: Work, ok: bool, summary: str, failures: tuple[str, ...], smoke_ok: bool | None,
               attached: tuple[Attachment, ...] | str) -> Outcome:
    """An outcome from a verdict; `attached` is the attachments or why they are unusable."""
    if isinstance(attached, str):
        return Outcome(False, attached)
    if work.role == Role.QA and not ok:
        failures = tuple(r for r in work.requirement_ids if r in failures) or work.requirement_ids
        return Outcome(False, summary or f"failed {', '.join(failures)}", failures=failures,
                       attachments=attached)
    return Outcome(ok, summary or ("done" if ok else "failed"),
                   smoke_ok=smoke_ok if work.role == Role.DEVOPS else None, attachments=attached)


def _attachments(verdict: callbacks.Verdict) -> tuple[Attachment, ...] | str:
    out = []
    for ref in verdict.artifacts:
        try:
            out.append(Attachment(ref.name, ref.media_type, artifacts.fetch(ref)))
        except (OSError, ValueError) as exc:
            return f"artifact {ref.name} of the verdict is unusable: {exc}"
    return tuple(out)
