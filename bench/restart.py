"""The runtime against history: a PM and a Monitor restarted after 10k and after 1M events.

The history is synthetic but valid: one dry-run project's events, copied with fresh ids in
the Avro bytes (same-length substitutions, so the real codec reads every copy), interleaved
`GROUP` projects at a time; all but a few copies run to `project.completed`, the rest stop
mid-way (in flight). Both services catch up on it, are SIGKILLed and started again with a
probe project waiting: the figure is process start -> the probe's first decision, per service.
"""

from __future__ import annotations

import random
import re
import signal
import time
from pathlib import Path
from typing import Any

from confluent_kafka import Producer

from bench.common import rss_kb
from orchestrator.adapters import bus, client, kafka_topics
from orchestrator.adapters.config import Settings
from orchestrator.core import codec
from orchestrator.core.envelope import Event
from orchestrator.entrypoints import demo, dryrun

GROUP = 50
SERVICES = ("pm", "monitor")
SPEC = Path(__file__).resolve().parents[1] / "examples" / "specs" / "shop.yaml"
_IDS = re.compile(rb"(?<=shop-)[0-9a-f]{8}|[0-9a-f]{8}(?=-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")

Record = tuple[bytes, bytes, list[tuple[str, bytes]]]  # key, value, headers


def template() -> list[Event]:
    """One project's events on the log (the submission lives on the ingestion topic)."""
    submission = client.submission(SPEC.read_bytes(), "shop.yaml")
    events = dryrun.run(submission, clock_start=int(time.time() * 1000))
    return [e for e in events if e.type != "spec.submitted"]


def copy(records: list[Record], n: int) -> list[Record]:
    tag = f"{n:08x}".encode()
    return [(_IDS.sub(tag, key), _IDS.sub(tag, value), [(k, _IDS.sub(tag, v)) for k, v in headers])
            for key, value, headers in records]


def produce_history(settings: Settings, events: int, in_flight: int, seed: int = 7) -> dict[str, Any]:
    """About `events` events of copies of the template; returns what was written."""
    trace = template()
    records = [(e.project_id.encode(), codec.encode(e), codec.headers(e)) for e in trace]
    projects = max(events // len(records), in_flight + 1)
    rng = random.Random(seed)
    producer = Producer(bus.producer_config(settings, **{"linger.ms": 20, "batch.size": 1_000_000}))
    written = 0
    started = time.monotonic()
    for first in range(0, projects, GROUP):
        group = [copy(records, n) for n in range(first, min(first + GROUP, projects))]
        for n, rows in enumerate(group, start=first):
            if n >= projects - in_flight:  # the last few stop mid-way: in flight at the restart
                del rows[rng.randint(10, len(rows) - 5):]
        for row in _interleave(group):
            while True:
                try:
                    producer.produce(settings.events_topic, row[1], row[0], headers=row[2])  # type: ignore[arg-type]
                    break
                except BufferError:
                    producer.poll(0.05)
            written += 1
    producer.flush(120)
    return {"events": written, "projects": projects, "in_flight": in_flight,
            "events_per_project": len(records), "produce_s": time.monotonic() - started}


def _interleave(groups: list[list[Record]]) -> list[Record]:
    out: list[Record] = []
    for i in range(max(len(g) for g in groups)):
        out += [g[i] for g in groups if i < len(g)]
    return out


def caught_up(settings: Settings, timeout: float) -> float:
    """Seconds until every service's committed offsets reach the log's end.

    Committed offsets are read with a consumer per group that never subscribes (the
    AdminClient's list_consumer_group_offsets crashed librdkafka here, in its main thread).
    """
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    topic = settings.events_topic
    probe = demo_consumer(settings)
    ends = kafka_topics.end_offsets(probe, topic, range(settings.partitions))
    probe.close()
    readers = {s: Consumer(bus.consumer_config(settings, settings.group(s, "all"))) for s in SERVICES}
    started = time.monotonic()
    try:
        while time.monotonic() - started < timeout:
            behind = 0
            for reader in readers.values():
                try:
                    found = reader.committed([TopicPartition(topic, p) for p in ends], timeout=10)
                except KafkaException:  # the group's coordinator not ready yet: ask again
                    found = []
                got = {tp.partition: tp.offset for tp in found}
                behind += sum(max(end - got.get(p, 0), 0) for p, end in ends.items())
            if behind == 0:
                return time.monotonic() - started
            time.sleep(0.5)
    finally:
        for reader in readers.values():
            reader.close()
    raise TimeoutError(f"not caught up within {timeout:.0f}s")


def demo_consumer(settings: Settings) -> Any:
    from confluent_kafka import Consumer

    return Consumer(bus.consumer_config(settings, "bench-restart-probe"))


def probe_records(n: int) -> list[Record]:
    """A fresh project up to its first completed dev task: the PM plans it, the Monitor asks QA."""
    trace = template()
    cut = next(i for i, e in enumerate(trace) if e.type == "task.completed") + 1
    rows = [(e.project_id.encode(), codec.encode(e), codec.headers(e)) for e in trace[:cut]]
    return copy(rows, n)


def restart(fleet: demo.Fleet, reader: Any, probe_project: str, probe_ids: set[str],
            timeout: float = 120) -> dict[str, float]:
    """Seconds from spawning each service to its first decision on the probe project (an
    event of its own that the probe did not already carry)."""
    spawned = {}
    for service in SERVICES:
        spawned[service] = time.time()
        fleet.start(service)
    first: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(first) < len(SERVICES) and time.monotonic() < deadline:
        for e in reader.drain(0.2):
            role = str(e.actor.role)
            if (e.project_id == probe_project and role in SERVICES and role not in first
                    and e.event_id not in probe_ids):
                first[role] = e.occurred_at / 1000 - spawned[role]
    return first


def run(settings: Settings, events: int, in_flight: int = 10) -> dict[str, Any]:
    from bench.common import LogReader

    kafka_topics.provision(settings)
    out: dict[str, Any] = {"history": produce_history(settings, events, in_flight)}
    # its own run dir (logs), the same servers: the stack's address is read before it moves
    fleet = demo.Fleet(settings.model_copy(update={"run_dir": settings.run_dir / settings.topic_prefix,
                                                   "kafka_bootstrap": settings.bootstrap}))
    try:
        for service in SERVICES:
            fleet.start(service)
        out["catch_up_s"] = caught_up(settings, timeout=1800)
        out["catch_up_events_per_s"] = out["history"]["events"] / max(out["catch_up_s"], 1e-9)
        out["rss_mb_caught_up"] = {s: (rss_kb(fleet.procs[s].pid) or 0) / 1024 for s in SERVICES}
        for service in SERVICES:
            fleet.kill(service, signal.SIGKILL)
        reader = LogReader(settings, from_end=True)  # only what the restarted services decide
        reader.drain(1.0)
        rows = probe_records(10**7 + out["history"]["projects"])
        producer = Producer(bus.producer_config(settings))
        for key, value, headers in rows:
            producer.produce(settings.events_topic, value, key, headers=headers)  # type: ignore[arg-type]
        producer.flush(30)
        probe_ids = {dict(headers)["event_id"].decode() for _, _, headers in rows}
        out["restart_s"] = restart(fleet, reader, rows[0][0].decode(), probe_ids)
        out["restart_max_s"] = max(out["restart_s"].values(), default=None)
        out["rss_mb_restarted"] = {s: (rss_kb(fleet.procs[s].pid) or 0) / 1024 for s in SERVICES}
        reader.close()
    finally:
        fleet.stop()
    return out
