"""Realistic states for property tests: each decider's states along a dry run of the example."""

from __future__ import annotations

from functools import cache
from importlib import import_module
from pathlib import Path
from typing import Any

from orchestrator.adapters import client
from orchestrator.core import actors
from orchestrator.core.envelope import Actor, Event
from orchestrator.entrypoints import dryrun
from orchestrator.shell.parts import ActorDef

SHOP = Path(__file__).resolve().parents[2] / "examples" / "specs" / "shop.yaml"


@cache
def events() -> tuple[Event, ...]:
    return tuple(dryrun.run(client.submission(SHOP.read_bytes(), "shop.yaml", "req-trace")))


def definition(name: str) -> ActorDef:
    return import_module(f"services.{name}.main").definition()  # type: ignore[no-any-return]


@cache
def states(name: str, area: str | None = None) -> tuple[Any, ...]:
    """Every distinct state actor `name` (serving `area`, None: all) passes through."""
    defn = definition(name)
    me = Actor(defn.role, area, f"{name}-0")
    state = defn.decider.initial_state(me)
    out = [state]
    for event in events():
        if type(event.payload) in defn.decider.interests:
            state = defn.decider.evolve(state, event)
            if state is not out[-1]:
                out.append(state)
    return tuple(out)


NAMES = actors.ACTORS
