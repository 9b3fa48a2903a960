"""The next wake-up time of each key: a heap that stays the size of the live keys."""

from __future__ import annotations

import heapq
from collections.abc import Container


class Timers:
    def __init__(self) -> None:
        self.heap: list[tuple[int, str]] = []
        self._next: dict[str, int] = {}

    def set(self, key: str, at: int | None) -> None:
        """Wake `key` at `at` (None: never); an earlier time for it is superseded."""
        if at is None:
            self._next.pop(key, None)
        elif self._next.get(key) != at:
            self._next[key] = at
            heapq.heappush(self.heap, (at, key))
            if len(self.heap) > 2 * len(self._next) + 1024:
                self._compact()

    def drop(self, key: str) -> None:
        self._next.pop(key, None)

    def pop_due(self, now: int, live: Container[str]) -> list[str]:
        """The `live` keys due at `now`, each at most once; they wake again only when `set`."""
        out: list[str] = []
        while self.heap and self.heap[0][0] <= now:
            at, key = heapq.heappop(self.heap)
            if self._next.get(key) == at and key in live:
                del self._next[key]
                out.append(key)
        return out

    def _compact(self) -> None:
        """Drop the timers that moved on or whose key ended: the heap stays the size of the
        live keys instead of growing with every deadline ever moved (a Monitor after a
        million events held most of its memory there)."""
        self.heap = [(at, key) for key, at in self._next.items()]
        heapq.heapify(self.heap)
