"""Entry point of the monitor service: its decider wired into the shared shell."""

from __future__ import annotations

import services.monitor.decider as decider
from orchestrator.core.events import Role
from orchestrator.shell import ActorDef


def definition() -> ActorDef:
    return ActorDef(name="monitor", role=Role.MONITOR, decider=decider, tick_ms=500)
