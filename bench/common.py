"""Shared bits: settings per part, percentiles, a log reader, /proc readings."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from orchestrator.adapters.config import Settings
from orchestrator.core import codec
from orchestrator.core.envelope import Event

REPO = Path(__file__).resolve().parents[1]
RUN_DIR = REPO / ".run" / "bench"
RUN_ID = f"{int(time.time())}-{os.getpid()}"


def part_settings(base: Settings, part: str) -> Settings:
    """A fresh topic prefix per part, same servers and run dir."""
    return base.model_copy(update={"topic_prefix": f"bench-{RUN_ID}-{part}"})


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summary(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), "p50": pct(values, 0.5), "p95": pct(values, 0.95),
            "p99": pct(values, 0.99), "max": max(values) if values else None}


class LogReader:
    """Reads the events topic from offset 0 (or from its end, `from_end`); `drain` returns what
    arrived so far."""

    def __init__(self, settings: Settings, from_end: bool = False) -> None:
        self.settings = settings
        self.consumer = Consumer({
            "bootstrap.servers": settings.bootstrap, "group.id": f"bench-reader-{uuid.uuid4()}",
            "enable.auto.commit": False, "auto.offset.reset": "earliest",
            "isolation.level": "read_committed", "fetch.wait.max.ms": 50,
        })
        topic = settings.events_topic
        meta = self.consumer.list_topics(topic, timeout=10)
        parts = meta.topics[topic].partitions
        starts = {p: self.consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                  if from_end else 0 for p in parts}
        self.consumer.assign([TopicPartition(topic, p, starts[p]) for p in parts])
        self.events: dict[str, Event] = {}
        self.order: list[Event] = []

    def drain(self, seconds: float) -> list[Event]:
        new: list[Event] = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            msgs = self.consumer.consume(1000, 0.05)
            for m in msgs:
                if m.error():
                    continue
                try:
                    e = codec.decode(m.value())
                except codec.DecodeError:
                    continue
                if e.event_id not in self.events:
                    self.events[e.event_id] = e
                    self.order.append(e)
                    new.append(e)
            if not msgs and new:
                break
        return new

    def wait_for(self, done: Any, timeout: float) -> bool:
        """Drain until `done(self)` is true or `timeout` seconds pass."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.drain(0.2)
            if done(self):
                return True
        return False

    def close(self) -> None:
        self.consumer.close()


def rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def tree_pids(pid: int) -> list[int]:
    """pid and its descendants (py-spy wraps the profiled service)."""
    out = [pid]
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return out
    for k in kids:
        out.extend(tree_pids(int(k)))
    return out


def cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick


def sample_event(settings: Settings | None = None) -> Event:
    """A typical task.assigned, as PM emits it."""
    from orchestrator.core.envelope import Actor, derive_id
    from orchestrator.core.events import Executor, Role, TaskAssigned

    cause = str(uuid.uuid4())
    return Event(
        event_id=derive_id(cause, "task.assigned"), project_id=str(uuid.uuid4()),
        request_id=str(uuid.uuid4()), causation_id=cause, occurred_at=int(time.time() * 1000),
        actor=Actor(Role.PM, "backend", "bench-host-12345"),
        payload=TaskAssigned(task_id="backend/FR-12/dev", area="backend", role=Role.DEV, attempt=1,
                             requirement_ids=("FR-12",), title="Products can be listed and searched",
                             deadline_ms=20_000, lease_ms=3_000,
                             executor=Executor(Role.DEV, "simulated", None, {"duration": "0s"})),
    )
