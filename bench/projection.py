"""The projector: live and rebuild speed against raw consume+decode of the same run, and
how soon a produced event is visible to a reader.

The log is synthetic but shaped like real projects (one module, a dev/QA pair and a
deploy each, ~20 events), produced with the real codec; the read model is built by the
real projector and rebuilt by `projections rebuild --verify`.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any

import psycopg
from confluent_kafka import Consumer, TopicPartition

from orchestrator.adapters import bus, kafka_topics
from orchestrator.adapters.config import Settings
from orchestrator.core import codec
from orchestrator.core.envelope import Actor, Event
from orchestrator.core.events import (
    BacklogCreated,
    BacklogTask,
    CharterCreated,
    DevopsDeployed,
    DevopsRequested,
    Executor,
    Module,
    ModuleCompleted,
    ModulePlanned,
    Policy,
    ProjectCompleted,
    ProjectCreated,
    QaPassed,
    QaRequested,
    Requirement,
    Role,
    Scope,
    SmokePassed,
    TaskAssigned,
    TaskCompleted,
    TaskStarted,
    TaskVerified,
)
from orchestrator.entrypoints.projections_cli import rebuild
from services.projections import log_reader, projector, views, writes


def project_events(n: int, t0: int) -> list[Event]:
    p, area, req = f"bench-{n:06d}", "backend", Requirement("FR-1", "One", ("works",))
    dev, qa, ops = f"{p}/{area}/dev/FR-1", f"{p}/{area}/qa/FR-1", f"{p}/{area}/devops"
    ex = Executor(Role.DEV)
    steps: list[tuple[Role, object]] = [
        (Role.SPEC, ProjectCreated(p, "bench", (Module(area, (req,)),), Policy())),
        (Role.CTO, CharterCreated(p, (area,), ("done",))),
        (Role.CTO, ModulePlanned(area, "pm-backend", (req,), Policy())),
        (Role.PM, BacklogCreated(area, (BacklogTask(dev, Role.DEV, ("FR-1",), "One"),
                                        BacklogTask(qa, Role.QA, ("FR-1",), "One"),
                                        BacklogTask(ops, Role.DEVOPS, ("FR-1",), "Deploy")))),
        (Role.PM, TaskAssigned(dev, area, Role.DEV, 1, ("FR-1",), "One", 1000, 100, ex)),
        (Role.PM, TaskAssigned(qa, area, Role.QA, 1, ("FR-1",), "One", 1000, 100, ex)),
        (Role.PM, TaskAssigned(ops, area, Role.DEVOPS, 1, ("FR-1",), "Deploy", 1000, 100, ex)),
        (Role.DEV, TaskStarted(dev, area, Role.DEV, 1, 0, 100)),
        (Role.DEV, TaskCompleted(dev, area, Role.DEV, 1, 0, "done")),
        (Role.MONITOR, QaRequested(qa, area, dev, ("FR-1",), 1, 0)),
        (Role.QA, TaskStarted(qa, area, Role.QA, 1, 0, 100)),
        (Role.QA, QaPassed(qa, area, dev, 1, 0, "ok")),
        (Role.MONITOR, TaskVerified(dev, area, Role.DEV, ("FR-1",))),
        (Role.MONITOR, DevopsRequested(ops, area, Scope.TOTAL, ("FR-1",), 1, 0)),
        (Role.DEVOPS, TaskStarted(ops, area, Role.DEVOPS, 1, 0, 100)),
        (Role.DEVOPS, DevopsDeployed(ops, area, Scope.TOTAL, 1, 0, "staging")),
        (Role.DEVOPS, SmokePassed(ops, area, Scope.TOTAL, 1, 0)),
        (Role.MONITOR, TaskVerified(ops, area, Role.DEVOPS, ("FR-1",))),
        (Role.PM, ModuleCompleted(area, 3)),
        (Role.CTO, ProjectCompleted((area,))),
    ]
    out, cause, request = [], None, str(uuid.uuid4())
    for i, (role, payload) in enumerate(steps):
        e = Event(str(uuid.uuid4()), p, request, cause, t0 + i, Actor(role, area, f"{role}-0"),
                  payload)  # type: ignore[arg-type]
        out.append(e)
        cause = e.event_id
    return out


def fill(settings: Settings, target: int) -> int:
    kafka_topics.provision(settings)
    publisher = bus.Publisher(settings, **{"linger.ms": 20})
    made, n, t0 = 0, 0, 1_700_000_000_000
    while made < target:
        batch = [e for i in range(200) for e in project_events(n + i, t0)]
        publisher.publish_sync(batch, timeout=120)
        made += len(batch)
        n += 200
    publisher.close()
    return made


def consume_and_decode(settings: Settings) -> dict[str, float]:
    """The ceiling for any projector: read every record and decode it, nothing else."""
    group = f"bench-{uuid.uuid4()}"
    consumer = Consumer(bus.consumer_config(settings, group, **{"enable.auto.commit": False}))
    ends = log_reader.high_watermarks(settings)
    consumer.assign([TopicPartition(settings.events_topic, p, 0) for p in ends])
    left, count, started = {p for p, e in ends.items() if e > 0}, 0, time.perf_counter()
    while left:
        for msg in consumer.consume(1000, 1.0):
            if msg.error():
                continue
            codec.decode(msg.value())
            count += 1
            partition, offset = int(msg.partition() or 0), int(msg.offset() or 0)
            if offset + 1 >= ends[partition]:
                left.discard(partition)
    seconds = time.perf_counter() - started
    consumer.close()
    return {"events": count, "seconds": seconds, "events_per_s": count / seconds}


def visibility(settings: Settings, schema: str, samples: int, gap_s: float = 0.02) -> dict[str, Any]:
    """Event produced -> its row visible to a reader, at low load: one event at a time, the live
    projector (`orchestrator service projector`) its own process, the reader woken by its NOTIFY."""
    env = {**os.environ, "ORCH_KAFKA_BOOTSTRAP": settings.bootstrap, "ORCH_DATABASE_URL": settings.dsn,
           "ORCH_PROJECTION_SCHEMA": schema, "ORCH_TOPIC_PREFIX": settings.topic_prefix}
    server = subprocess.Popen([sys.executable, "-m", "orchestrator", "service", "projector"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    publisher = bus.Publisher(settings)
    times: list[float] = []
    try:
        with views.connect(settings.dsn, schema, autocommit=True) as conn:
            conn.execute(f"LISTEN {writes.channel(schema)}")
            events = [e for n in range(samples // 20 + 2) for e in project_events(900_000 + n, 1)]
            warm_up, events = events[0], events[1:samples + 1]
            publisher.publish_sync([warm_up])  # the first one waits for the projector to start
            if not _visible(conn, warm_up.event_id, deadline=time.monotonic() + 60):
                raise RuntimeError("the projector did not start within 60 s")
            for event in events:
                started = time.perf_counter()
                publisher.publish_sync([event])
                if not _visible(conn, event.event_id, deadline=time.monotonic() + 30):
                    raise RuntimeError(f"event {event.event_id} not visible within 30 s")
                times.append(time.perf_counter() - started)
                time.sleep(gap_s)  # low load: one event in flight, then a pause
    finally:
        publisher.close()
        server.terminate()
        server.wait(10)
    ms = sorted(1000 * t for t in times)
    return {"samples": len(ms), "p50_ms": statistics.median(ms), "p99_ms": ms[int(0.99 * (len(ms) - 1))],
            "max_ms": ms[-1]}


def _visible(conn: psycopg.Connection[Any], event_id: str, deadline: float) -> bool:
    while time.monotonic() < deadline:
        if conn.execute("SELECT 1 FROM events WHERE event_id = %s", (event_id,)).fetchone():
            return True
        for _ in conn.notifies(timeout=max(0.0, deadline - time.monotonic()), stop_after=1):
            pass
    return False


def run(settings: Settings, events: int, copy_rows_per_s: float | None) -> dict[str, Any]:
    made = fill(settings, events)
    raw = consume_and_decode(settings)
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    views.migrate(settings.dsn, schema)
    t = time.perf_counter()
    live = projector.run_until_caught_up(settings, schema)  # as the live projector does it: no bulk
    live_s = time.perf_counter() - t
    rebuilt = rebuild(settings, verify=True, live=schema)
    rate = rebuilt.records / rebuilt.seconds
    result: dict[str, Any] = {
        "events": made,
        "raw_consume_decode": raw,
        "live_projection": {"records": live, "seconds": live_s, "events_per_s": live / live_s},
        "rebuild": {"records": rebuilt.records, "seconds": rebuilt.seconds, "events_per_s": rate,
                    "verified_equal": not rebuilt.mismatched, "swapped": rebuilt.swapped},
        "rebuild_vs_raw_consume_decode": rate / raw["events_per_s"],
        "rebuild_vs_copy_rows": rate / copy_rows_per_s if copy_rows_per_s else None,
    }
    result["visibility"] = visibility(settings, schema, 200)
    return result
