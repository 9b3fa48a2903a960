"""Entry point of the monitor service: its decider wired into the shared shell."""

from __future__ import annotations

import services.monitor.decider as decider
from orchestrator.core.events import Role, TaskUsage
from orchestrator.shell import ActorDef


def definition() -> ActorDef:
    # every area's run reports: the project budget is summed over all of them
    return ActorDef(name="monitor", role=Role.MONITOR, decider=decider, tick_ms=500,
                    every_area=frozenset({TaskUsage}))
