"""Part 6 and 7: projection rebuild speed and API latency, against baselines of the same run.

The log is synthetic but shaped like real projects (one module, a dev/QA pair and a
deploy each, ~20 events), produced with the real codec; the read model is built by the
real projector, rebuilt by `projections rebuild`, and read by the real API over HTTP.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any

import httpx
from confluent_kafka import Consumer, TopicPartition

from orchestrator import bus, codec
from orchestrator.config import Settings
from orchestrator.envelope import Actor, Event
from orchestrator.events import (
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
from orchestrator.projections_cli import rebuild
from orchestrator.stack.proc import free_port
from services.projections import projector, views


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
    bus.provision(settings)
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
    ends = projector.high_watermarks(settings)
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


def api_latency(settings: Settings, schema: str, projects: int, clients: int,
                per_client: int) -> dict[str, Any]:
    """`orchestrator service api` as its own process, loaded by `clients` concurrent clients."""
    port = free_port()
    env = {**os.environ, "ORCH_KAFKA_BOOTSTRAP": settings.bootstrap, "ORCH_DATABASE_URL": settings.dsn,
           "ORCH_READER_DATABASE_URL": settings.dsn, "ORCH_PROJECTION_SCHEMA": schema,
           "ORCH_API_PORT": str(port), "ORCH_TOPIC_PREFIX": settings.topic_prefix}
    server = subprocess.Popen([sys.executable, "-m", "orchestrator.cli", "service", "api"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)

    async def load(path_of: Any) -> list[float]:
        times: list[float] = []
        limits = httpx.Limits(max_connections=clients)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:
            async def client(k: int) -> None:
                for i in range(per_client):
                    t = time.perf_counter()
                    r = await http.get(path_of((k * per_client + i) % projects))
                    r.raise_for_status()
                    times.append(time.perf_counter() - t)
            await asyncio.gather(*[client(k) for k in range(clients)])
        return times

    out: dict[str, Any] = {"clients": clients, "requests_per_route": clients * per_client}
    try:
        for name, path in (("project", lambda n: f"/projects/bench-{n:06d}"),
                           ("tasks", lambda n: f"/projects/bench-{n:06d}/tasks")):
            times = sorted(asyncio.run(load(path)))
            out[name] = {"p50_ms": 1000 * statistics.median(times),
                         "p99_ms": 1000 * times[int(0.99 * (len(times) - 1))],
                         "rps": len(times) / sum(times) * clients}
    finally:
        server.terminate()
        server.wait(10)
    return out


def run(settings: Settings, events: int, copy_rows_per_s: float | None) -> dict[str, Any]:
    made = fill(settings, events)
    raw = consume_and_decode(settings)
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    views.migrate(settings.dsn, schema)
    t = time.perf_counter()
    live = projector.run_until_caught_up(settings, schema)
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
    result["api"] = api_latency(settings, schema, made // 20, clients=50, per_client=20)
    return result
