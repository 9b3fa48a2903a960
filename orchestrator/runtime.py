"""What every actor shell does with its pure decider, free of Kafka: dedupe, decide, fold.

One `Runtime` per service process holds a state per project and the ids it has seen.
`decide` sees the state before the input; the input and then the outputs are folded in,
so a redelivered input (same id) is dropped and a replayed log rebuilds the same state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any

from orchestrator.envelope import Actor, Event, Tick


@dataclass
class Runtime:
    decider: ModuleType
    me: Actor
    options: dict[str, Any] = field(default_factory=dict)
    states: dict[str, Any] = field(default_factory=dict)
    prepare: Callable[[Event], Event] = lambda event: event
    seen: set[str] = field(default_factory=set)

    def state(self, project_id: str) -> Any:
        found = self.states.get(project_id)
        if found is None:
            found = self.decider.initial_state(self.me, **self.options)
        return found

    def handle(self, event: Event) -> list[Event]:
        """Outputs for a new input (empty for a duplicate); the state already includes them."""
        if event.event_id in self.seen:
            return []
        state = self.state(event.project_id)
        decided = self.decider.decide(state, event)
        outputs = [self._stamp(o) for o in decided if o.event_id not in self.seen]
        self._fold(event.project_id, state, [event, *outputs])
        return outputs

    def tick(self, now: int) -> list[Event]:
        produced: list[Event] = []
        for project_id, state in list(self.states.items()):
            outputs = [self._stamp(o) for o in self.decider.decide(state, Tick(now))]
            outputs = [o for o in outputs if o.event_id not in self.seen]
            if outputs:
                self._fold(project_id, state, outputs)
                produced.extend(outputs)
        return produced

    def apply(self, project_id: str, outputs: Iterable[Event]) -> list[Event]:
        """Fold outputs made outside `decide` (a worker's results); returns the new ones."""
        fresh = [self._stamp(o) for o in outputs if o.event_id not in self.seen]
        if fresh:
            self._fold(project_id, self.state(project_id), fresh)
        return fresh

    def forget(self, keep: Callable[[str], bool]) -> None:
        for project_id in [p for p in self.states if not keep(p)]:
            del self.states[project_id]

    def _fold(self, project_id: str, state: Any, events: list[Event]) -> None:
        for e in events:
            if e.event_id not in self.seen:
                state = self.decider.evolve(state, e)
                self.seen.add(e.event_id)
        self.states[project_id] = state

    def _stamp(self, event: Event) -> Event:
        if event.actor.instance != self.me.instance:
            event = replace(event, actor=replace(event.actor, instance=self.me.instance))
        return self.prepare(event)
