"""Entry point of the devops service: its decider wired into the shared shell."""

from __future__ import annotations

import services.devops.decider as decider
from orchestrator.core.events import Role
from orchestrator.shell import ActorDef


def definition() -> ActorDef:
    return ActorDef(name="devops", role=Role.DEVOPS, decider=decider, worker=True)
