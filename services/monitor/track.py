"""A task as the Monitor follows it: its phase in the current (attempt, round), and what
it remembers over every attempt.

Apart from the whole state, so every rule module can name a task's phases on their own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from orchestrator.core.envelope import Event
from orchestrator.core.events import TaskAssigned


@dataclass(frozen=True)
class Waiting:
    """Assigned but not triggered: QA before its dev task completes, DevOps before a request."""


@dataclass(frozen=True)
class Running:
    since: int  # when triggered: the deadline counts from here
    cause: Event  # the trigger: the cause of this round's timer alerts
    beat: int | None = None  # latest task.started / task.heartbeat; None until claimed


@dataclass(frozen=True)
class Done:
    ok: bool


@dataclass(frozen=True)
class Verified:
    pass


@dataclass(frozen=True)
class Cancelled:
    pass


Phase = Waiting | Running | Done | Verified | Cancelled


@dataclass(frozen=True)
class Track:
    spec: TaskAssigned  # the current attempt's assignment
    round: int = 0
    phase: Phase = Waiting()
    max_round: int = -1  # over every attempt: a re-assigned dev task goes on from here
    qa_failures: int = 0  # of a dev task, over every attempt
    alerted: frozenset[tuple[str, int, int]] = frozenset()  # (kind, attempt, round)


def finished(track: Track) -> bool:
    """Verified or cancelled: a later re-assignment (raised on a stale alert) changes nothing."""
    return isinstance(track.phase, Verified | Cancelled)


def bump(track: Track, round: int) -> Track:
    return replace(track, max_round=max(track.max_round, round))
