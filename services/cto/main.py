"""Entry point of the cto service: its decider wired into the shared shell."""

from __future__ import annotations

import services.cto.decider as decider
from orchestrator.core.events import Role
from orchestrator.shell import ActorDef


def definition() -> ActorDef:
    return ActorDef(name="cto", role=Role.CTO, decider=decider)
