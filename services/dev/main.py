"""Entry point of the dev service: its decider wired into the shared shell."""

from __future__ import annotations

import services.dev.decider as decider
from orchestrator.core.events import Role
from orchestrator.shell import ActorDef


def definition() -> ActorDef:
    return ActorDef(name="dev", role=Role.DEV, decider=decider, worker=True)
