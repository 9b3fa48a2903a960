"""Entry point of the pm service: its decider wired into the shared shell."""

from __future__ import annotations

import services.pm.decider as decider
from orchestrator.core.events import Role
from orchestrator.shell import ActorDef


def definition() -> ActorDef:
    return ActorDef(name="pm", role=Role.PM, decider=decider)
