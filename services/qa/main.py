"""Entry point of the qa service: its decider wired into the shared shell."""

from __future__ import annotations

import services.qa.decider as decider
from orchestrator.core.events import Role
from orchestrator.shell import ActorDef


def definition() -> ActorDef:
    return ActorDef(name="qa", role=Role.QA, decider=decider, worker=True)
