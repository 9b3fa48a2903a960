"""Which records a service skips by their headers alone, before decoding anything."""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka import Message

from orchestrator.core import catalog


def read_headers(msg: Message) -> dict[str, bytes]:
    found = msg.headers() or []
    pairs = found.items() if isinstance(found, dict) else found
    return {k: v for k, v in pairs if isinstance(v, bytes)}


@dataclass(frozen=True)
class Filter:
    """`types`: the decider's interests as header values (None: read every record, the
    intake topic); `area` and `role`: skip other areas' and roles' events when set;
    `every_area`: the types read from every area all the same (the Monitor's `task.usage`,
    which the project budget sums over every area)."""

    types: frozenset[bytes] | None
    area: bytes | None = None
    role: bytes | None = None
    every_area: frozenset[bytes] = frozenset()

    @staticmethod
    def of(interests: frozenset[type], area: str | None, role: str | None,
           every_type: bool = False, every_area: frozenset[type] = frozenset()) -> Filter:
        types = None if every_type else frozenset(catalog.BY_CLASS[c].type.encode() for c in interests)
        # only an interest can pass: a type the decider never reads is skipped by type anyway
        across = frozenset(catalog.BY_CLASS[c].type.encode() for c in every_area & interests)
        return Filter(types, area.encode() if area else None, role.encode() if role else None, across)

    def skip(self, headers: dict[str, bytes]) -> str | None:
        """Why the record needs no decoding here (None: decode and decide)."""
        if self.types is not None and headers.get("type") not in self.types:
            return "type"
        if (self.area is not None and headers.get("area", self.area) != self.area
                and headers.get("type") not in self.every_area):
            return "area"
        if self.role is not None and headers.get("role", self.role) != self.role:
            return "role"
        return None
