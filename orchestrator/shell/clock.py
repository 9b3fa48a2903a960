"""When a process decider (the Monitor) may judge time (only with a view of the log), and the tick.

Leases and deadlines judged on a stale view raise false alerts. So no tick while the
partitions just assigned are still being caught up, while the broker is unreachable, and,
after it is back, until what was written meanwhile has been read and the workers have had
a quiet period to report again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from orchestrator.adapters.wallclock import now_ms
from orchestrator.core.envelope import Tick

if TYPE_CHECKING:
    from orchestrator.shell.loop import Loop

QUIET_TICKS = 6


@dataclass
class Clock:
    tick_ms: int
    ends: Callable[[], dict[int, int]]  # partition -> end offset, asked of the broker
    catching_up: dict[int, int] = field(default_factory=dict)  # partition -> offset to reach
    broken: bool = False
    quiet_until: float = 0.0
    next_tick: float = 0.0

    def seconds_to_tick(self) -> float:
        return max(self.next_tick - time.monotonic(), 0.0)

    def due(self) -> bool:
        """A tick is due now (and the next one is scheduled)."""
        now = time.monotonic()
        if now < self.next_tick:
            return False
        self.next_tick = now + self.tick_ms / 1000
        return True

    def may_judge(self, positions: dict[int, int]) -> bool:
        """`positions`: partition -> next offset to read."""
        if self.broken:
            try:
                ends = self.ends()
            except Exception:  # still unreachable (any client error says so)
                return False
            self.broken = False
            self.quiet_until = time.monotonic() + QUIET_TICKS * self.tick_ms / 1000
            self.assigned(ends, positions)
            return False
        for p, target in list(self.catching_up.items()):
            if positions.get(p, 0) >= target:
                del self.catching_up[p]
        return not self.catching_up and time.monotonic() >= self.quiet_until

    def broker_error(self) -> None:
        self.broken = True

    def assigned(self, ends: dict[int, int], positions: dict[int, int]) -> None:
        self.catching_up.update({p: end for p, end in ends.items() if end > positions.get(p, 0)})

    def revoked(self, partitions: set[int]) -> None:
        for p in partitions:
            self.catching_up.pop(p, None)


def tick(loop: Loop) -> None:
    """Judge the keys whose deadlines or leases are due, when the clock may."""
    clock = loop.clock
    if clock is None or not clock.due() or not clock.may_judge(loop.positions):
        return
    runtime, now = loop.parts.runtime, now_ms()
    for key in runtime.due_keys(now):
        step = runtime.react(key, Tick(now))
        if step.outputs:
            loop.settle(step)
        else:
            runtime.reschedule(key, now)
