"""One actor service's parts, wired once at start from its definition and settings."""

from __future__ import annotations

import os
import socket
import typing
from dataclasses import dataclass
from typing import Any, cast

from orchestrator.adapters import tracing
from orchestrator.adapters.config import Settings
from orchestrator.core import actors, statecodec
from orchestrator.core.decider import Decider, Process, Worker
from orchestrator.core.envelope import Actor, Event
from orchestrator.core.events import Role
from orchestrator.shell.headers import Filter
from orchestrator.shell.metrics import Metrics
from orchestrator.shell.runtime import Runtime


@dataclass(frozen=True)
class ActorDef:
    """How one actor service is wired: plain data, read at its entry point."""

    name: str
    role: Role
    decider: Decider
    intake: bool = False  # reads the ingestion topic (keyed by request id), not the log
    tick_ms: int = 0  # a Process: ticked this often
    worker: bool = False  # a Worker: its claims run executors
    # interests read from every area, past the area check (the Monitor's `task.usage`: the
    # project budget sums every area's runs); the decider tells its own area's from the rest
    every_area: frozenset[type] = frozenset()


class Parts:
    def __init__(self, defn: ActorDef, area: str, settings: Settings) -> None:
        self.defn = defn
        self.settings = settings
        self.area = actors.area_of(defn.name, area)
        # an intake for one tenant reads that tenant's ingestion topic, with a group and state of its own
        self.tenant = settings.intake_tenant if defn.intake else None
        own = f"{self.area}-tenant-{self.tenant}" if self.tenant else self.area
        self.group = settings.group(defn.name, own)
        self.topic = (settings.tenant_specs_topic(self.tenant) if self.tenant else settings.specs_topic) \
            if defn.intake else settings.events_topic
        self.changelog = settings.changelog_topic(defn.name, own)
        self.instance = settings.instance_id or f"{socket.gethostname()}-{os.getpid()}"
        self.me = Actor(defn.role, None if self.area == actors.ALL else self.area, self.instance)
        decider = defn.decider
        options = {"max_spec_bytes": settings.max_spec_bytes} if defn.intake else {}
        state_type = typing.get_type_hints(decider.initial_state)["return"]
        self.codec = statecodec.Codec(state_type)
        due = cast(Process, decider).due if defn.tick_ms else None
        self.runtime = Runtime(decider, lambda: decider.initial_state(self.me, **options), due)
        self.filter = Filter.of(decider.interests, self.me.area, defn.role.value if defn.worker else None,
                                every_type=defn.intake, every_area=defn.every_area)
        self.metrics = Metrics()
        self.spans = tracing.from_environment(f"orchestrator-{defn.name}")  # None: tracing off
        self.span_attributes = {"orchestrator.service": defn.name, "orchestrator.area": self.area,
                                "orchestrator.instance": self.instance}

    @property
    def worker(self) -> Worker | None:
        return cast(Worker, self.defn.decider) if self.defn.worker else None

    @staticmethod
    def key_of(event: Event) -> str:
        """The key states live under: the project, or the request for a submission."""
        return event.project_id or event.request_id

    def describe(self) -> dict[str, Any]:
        return {"group": self.group, "topic": self.topic, "changelog": self.changelog,
                "instance": self.instance, "state_format": self.codec.version}
