"""What crosses between a worker's rules and its executors: the work of a claim, its outcome.

Pure value types, apart from the rules, so an executor (and the shell that runs it)
imports what it exchanges and nothing of the lease protocol.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.core.envelope import Attachment
from orchestrator.core.events import Executor, Role, Scope


@dataclass(frozen=True)
class Work:
    """What an executor runs for one claim."""

    project_id: str
    request_id: str
    task_id: str
    role: Role
    area: str
    attempt: int
    round: int
    requirement_ids: tuple[str, ...]
    title: str
    scope: Scope | None
    executor: Executor
    acceptance: tuple[str, ...] = ()  # the acceptance criteria of its requirements


@dataclass(frozen=True)
class Usage:
    """What one run consumed: model tokens, money (the executor's unit) and wall time."""

    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    seconds: float = 0.0


@dataclass(frozen=True)
class Outcome:
    """What an executor reports; the role's `finish` turns it into events."""

    ok: bool
    summary: str
    failures: tuple[str, ...] = ()
    smoke_ok: bool | None = None
    attachments: tuple[Attachment, ...] = ()
    usage: Usage = Usage()  # the shell fills in `seconds` when the executor did not
