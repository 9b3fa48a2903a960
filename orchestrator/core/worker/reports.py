"""What a running claim reports besides its result: heartbeats, the lease they keep, usage.

Built from the claim (`task.started`) alone, so the shell can send them from the run
without the worker's state; ids follow the claim, so a re-sent report is the same event.
"""

from __future__ import annotations

from orchestrator.core.envelope import Actor, Event, follow
from orchestrator.core.events import TaskHeartbeat, TaskStarted, TaskUsage
from orchestrator.core.worker.work import Outcome


def heartbeat(started: Event, seq: int, me: Actor) -> Event:
    """The `seq`-th heartbeat of a claim; the shell stamps the time it is sent."""
    p = started.payload
    assert isinstance(p, TaskStarted), "heartbeat of a task.started only"
    beat = TaskHeartbeat(p.task_id, p.area, p.role, p.attempt, p.round, seq)
    return follow(started, beat, me, seq)


def usage(started: Event, outcome: Outcome, me: Actor) -> Event:
    """`task.usage` of the run `started` claimed: reported with its result."""
    p = started.payload
    assert isinstance(p, TaskStarted), "usage of a task.started only"
    u = outcome.usage
    spent = TaskUsage(p.task_id, p.area, p.role, p.attempt, p.round, u.tokens_in, u.tokens_out,
                      u.cost, u.seconds)
    return follow(started, spent, me, "usage")


def lease_of(started: Event) -> int:
    """How long a claim may go without a heartbeat before the Monitor calls it silent."""
    p = started.payload
    assert isinstance(p, TaskStarted), "the lease of a task.started only"
    return p.lease_ms
