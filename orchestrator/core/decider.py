"""What the shell needs from an actor's rules: pure functions of (state, event).

Each `services/<actor>/decider.py` module satisfies one of these protocols; the shell
names no actor and matches no event type itself. `interests` are the payload classes a
decider folds or reacts to: the shell skips every other record by its `type` header,
before decoding, and a property test per decider proves that skipping changes nothing.
"""

from __future__ import annotations

from typing import Any, Protocol

from orchestrator.core.envelope import Event, Tick
from orchestrator.core.worker.work import Outcome, Work


class Decider(Protocol):
    """One actor: a fold (`evolve`) and a reaction (`decide`) over one project's state."""

    interests: frozenset[type]

    def initial_state(self, me: Any) -> Any: ...

    def evolve(self, state: Any, event: Event) -> Any: ...

    def decide(self, state: Any, event: Event | Tick) -> list[Event]: ...

    def is_terminal(self, state: Any) -> bool:
        """Nothing more will happen to this project here: the shell forgets it."""
        ...


class Process(Decider, Protocol):
    """A decider that acts on time passing (the Monitor): the shell ticks it when due."""

    def due(self, state: Any) -> int | None:
        """When (epoch ms) `decide(state, Tick(now))` may first have something to say."""
        ...


class Worker(Decider, Protocol):
    """A decider whose claims run executors (Dev, QA, DevOps)."""

    def resume(self, state: Any) -> list[Event]:
        """The claims (`task.started`) that should be running now."""
        ...

    def work_of(self, state: Any, started: Event) -> Work: ...

    def finish(self, state: Any, started: Event, outcome: Outcome) -> list[Event]: ...
