"""What every actor shell does with its pure decider, free of Kafka: dedupe, decide, fold, forget.

A `Runtime` holds the live state of each key (a project id; SPEC keys by request id) with
the ids already folded into it. `decide` sees the state before the input; the input and
then the outputs are folded in, so a redelivered input is dropped. A terminal state
leaves memory (the shell writes a tombstone for it) and its key is remembered among the
recently finished, so stragglers for it change nothing. Every change since the last
commit is kept in an undo log: an aborted transaction rolls memory back to what the
changelog holds.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from orchestrator.core.decider import Decider
from orchestrator.core.envelope import Event, Tick
from orchestrator.core.timers import Timers

FINISHED_KEPT = 20_000  # recently terminal keys remembered in memory


def digest(event_id: str) -> int:
    """A stable 64-bit digest of an event id (what dedupe keeps, here and in the changelog)."""
    return int.from_bytes(hashlib.blake2b(event_id.encode(), digest_size=8).digest(), "big")


@dataclass
class Entry:
    state: Any
    partition: int
    seen: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class Step:
    """A decision not yet applied: the shell stamps `outputs`, then `Runtime.apply`s them."""

    key: str
    partition: int
    state: Any  # after the input, before the outputs
    outputs: list[Event]
    folded: tuple[int, ...] = ()  # digests of the inputs folded into `state`


class Runtime:
    def __init__(self, decider: Decider, initial: Callable[[], Any],
                 due: Callable[[Any], int | None] | None = None) -> None:
        self.decider = decider
        self.initial = initial
        self.due = due
        self.entries: dict[str, Entry] = {}
        self.finished: OrderedDict[str, None] = OrderedDict()
        self.dirty: dict[str, int] = {}  # key -> partition, for the keys changed since the last commit
        self._undo: dict[str, Entry | None] = {}
        self.timers = Timers()

    # -- reading -----------------------------------------------------------------------
    def state(self, key: str) -> Any:
        entry = self.entries.get(key)
        return entry.state if entry is not None else self.initial()

    def knows(self, key: str, event_id: str) -> bool:
        """The event was folded already, or its key has finished: nothing to do."""
        if key in self.finished:
            return True
        entry = self.entries.get(key)
        return entry is not None and digest(event_id) in entry.seen

    # -- deciding ----------------------------------------------------------------------
    def handle(self, key: str, partition: int, event: Event) -> Step | None:
        """The decision on a new input (None for a duplicate); nothing changes until `apply`."""
        if self.knows(key, event.event_id):
            return None
        before = self.state(key)
        outputs = self.decider.decide(before, event)
        after = self.decider.evolve(before, event)
        if after is before and not outputs:
            return None  # changes nothing: no need to remember it either
        return Step(key, partition, after, outputs, (digest(event.event_id),))

    def react(self, key: str, cause: Tick) -> Step:
        entry = self.entries[key]
        return Step(key, entry.partition, entry.state, self.decider.decide(entry.state, cause))

    def outputs(self, key: str, events: list[Event]) -> Step:
        """A step for outputs made outside `decide` (a worker's results, heartbeats)."""
        entry = self.entries.get(key)
        partition = entry.partition if entry is not None else -1
        return Step(key, partition, self.state(key), events)

    def apply(self, step: Step, outputs: Iterable[Event]) -> list[Event]:
        """Fold the stamped `outputs` of `step`; returns the ones not folded before."""
        self._remember(step.key)
        entry = self.entries.get(step.key)
        if entry is None:
            entry = Entry(step.state, step.partition)
        seen = entry.seen
        fresh = [o for o in outputs if digest(o.event_id) not in seen]
        state = step.state
        for out in fresh:
            state = self.decider.evolve(state, out)
        self.dirty[step.key] = entry.partition
        if self.decider.is_terminal(state):
            self.entries.pop(step.key, None)
            self.timers.drop(step.key)
            self.mark_finished(step.key)
            return fresh
        interesting = self.decider.interests
        seen.update(step.folded)
        seen.update(digest(o.event_id) for o in fresh if type(o.payload) in interesting)
        entry.state = state
        self.entries[step.key] = entry
        self._schedule(step.key, state)
        return fresh

    def fold(self, key: str, partition: int, event: Event) -> None:
        """Replay: fold an event read back from the log, deciding nothing (the log has the outputs)."""
        if self.knows(key, event.event_id):
            return
        entry = self.entries.get(key) or Entry(self.initial(), partition)
        state = self.decider.evolve(entry.state, event)
        if state is entry.state:
            return
        self.dirty[key] = partition
        if self.decider.is_terminal(state):
            self.entries.pop(key, None)
            self.timers.drop(key)
            self.mark_finished(key)
            return
        entry.state = state
        entry.seen.add(digest(event.event_id))
        self.entries[key] = entry
        self._schedule(key, state)

    # -- time --------------------------------------------------------------------------
    def due_keys(self, now: int) -> list[str]:
        """Keys whose next timer is due at `now` (each at most once per call)."""
        return self.timers.pop_due(now, self.entries)

    def _schedule(self, key: str, state: Any) -> None:
        self.timers.set(key, self.due(state) if self.due is not None else None)

    # -- commit, rollback, restore -----------------------------------------------------
    def changes(self) -> list[tuple[str, int, Entry | None]]:
        """(key, partition, entry or None when gone) for every key changed since the last commit."""
        return [(key, partition, self.entries.get(key)) for key, partition in self.dirty.items()]

    def commit(self) -> None:
        """The changes are in the changelog now: forget how to undo them."""
        self.dirty.clear()
        self._undo.clear()

    def reschedule(self, key: str, now: int) -> None:
        """A due key whose tick said nothing: wake it again only when its timers move on."""
        entry = self.entries.get(key)
        at = self.due(entry.state) if entry is not None and self.due is not None else None
        if at is not None and at > now:
            self._schedule(key, entry.state)  # type: ignore[union-attr]

    def rollback(self) -> None:
        """Back to the last commit: the transaction that held these changes was aborted."""
        for key, entry in self._undo.items():
            self.finished.pop(key, None)
            if entry is None:
                self.entries.pop(key, None)
            else:
                self.entries[key] = entry
                self._schedule(key, entry.state)
        self._undo.clear()
        self.dirty.clear()

    def load(self, key: str, partition: int, state: Any, seen: set[int]) -> None:
        self.entries[key] = Entry(state, partition, seen)
        self._schedule(key, state)

    def mark_finished(self, key: str) -> None:
        self.finished[key] = None
        self._trim()

    def forget(self, partitions: set[int]) -> None:
        """Drop every key of `partitions` (they were revoked: another instance owns them now)."""
        for key in [k for k, e in self.entries.items() if e.partition in partitions]:
            del self.entries[key]
            self.timers.drop(key)

    def _remember(self, key: str) -> None:
        if key not in self._undo:
            entry = self.entries.get(key)
            self._undo[key] = None if entry is None else Entry(entry.state, entry.partition, set(entry.seen))

    def _trim(self) -> None:
        while len(self.finished) > FINISHED_KEPT:
            self.finished.popitem(last=False)
