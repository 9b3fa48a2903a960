"""A manual task: the worker heartbeats while a person works, so only the deadline can fire."""

from __future__ import annotations

from test_monitor_decider import (
    AREA,
    DEADLINE,
    DEV,
    LEASE,
    AlertKind,
    Role,
    TaskHeartbeat,
    Tick,
    alert,
    alerts,
    ev,
    fold,
    module,
    started,
)

from services.monitor import decider as monitor


def test_nobody_acting_on_a_heartbeating_manual_task_misses_its_deadline_only() -> None:
    history = [*module(("FR-1",)), started(DEV(), Role.DEV, at=10)]
    beats = [ev(TaskHeartbeat(DEV(), AREA, Role.DEV, 1, 0, n), at=10 + n * LEASE // 3)
             for n in range(1, 3 * DEADLINE // LEASE)]  # up to just before the deadline
    state = fold(*history, *beats)
    assert alerts([o.payload for o in monitor.decide(state, Tick(DEADLINE - 1))]) == []
    out = alerts([o.payload for o in monitor.decide(state, Tick(DEADLINE))])
    assert out == [alert(DEV(), AlertKind.DEADLINE_MISSED)]  # never silent_worker
