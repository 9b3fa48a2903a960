"""Entry point of the spec service: its decider wired into the shared shell."""

from __future__ import annotations

import services.spec.decider as decider
from orchestrator.core.events import Role
from orchestrator.shell import ActorDef


def definition() -> ActorDef:
    return ActorDef(name="spec", role=Role.SPEC, decider=decider, intake=True)
