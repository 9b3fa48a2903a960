"""The projector against real Kafka and PostgreSQL: rows, duplicates, a crash, a rebuild."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from orchestrator.adapters import bus, kafka_topics
from orchestrator.adapters.config import Settings
from orchestrator.core.envelope import Actor, ArtifactRef, Event
from orchestrator.core.events import (
    AlertKind,
    BacklogTask,
    CharterCreated,
    DevopsDeployed,
    DevopsRequested,
    Executor,
    Module,
    ModuleCompleted,
    ModulePlanned,
    MonitorAlert,
    Policy,
    ProjectCompleted,
    ProjectCreated,
    QaFailed,
    QaPassed,
    QaRequested,
    Requirement,
    Role,
    RoleHired,
    RoleReleased,
    Scope,
    Severity,
    SmokePassed,
    SpecError,
    SpecRejected,
    TaskAssigned,
    TaskCompleted,
    TaskHeartbeat,
    TaskReworkRequested,
    TaskStarted,
    TaskVerified,
)
from orchestrator.core.events import BacklogCreated as Backlog
from services.cto.decider import STAFF
from services.projections import projector, views

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def scenario(project_id: str, request_id: str | None = None, t0: int = 1_700_000_000_000) -> list[Event]:
    """One project's life: a dev task failing QA once, then everything verified and deployed."""
    request_id = request_id or str(uuid.uuid4())
    p, area = project_id, "backend"
    dev, qa, ops = f"{p}/{area}/dev/FR-1", f"{p}/{area}/qa/FR-1", f"{p}/{area}/devops"
    req = Requirement("FR-1", "Login", ("works",))
    spec = ArtifactRef("spec.yaml", f"file:///a/{p}.yaml", "ab" * 32, "application/yaml", 10)
    exe = Executor(Role.DEV)
    payloads = [
        (Role.SPEC, None, ProjectCreated(p, "demo", (Module(area, (req,)),), Policy())),
        (Role.CTO, None, CharterCreated(p, (area,), ("m1",))),
        (Role.CTO, None, ModulePlanned(area, f"pm-{area}", (req,), Policy())),
        *[(Role.CTO, None, RoleHired(r, area, f"{r.value}-{area}")) for r in STAFF],
        (Role.PM, area, Backlog(area, (BacklogTask(dev, Role.DEV, ("FR-1",), "Login"),
                                       BacklogTask(qa, Role.QA, ("FR-1",), "Login"),
                                       BacklogTask(ops, Role.DEVOPS, ("FR-1",), "Deploy")))),
        (Role.PM, area, TaskAssigned(dev, area, Role.DEV, 1, ("FR-1",), "Login", 1000, 100, exe)),
        (Role.PM, area, TaskAssigned(qa, area, Role.QA, 1, ("FR-1",), "Login", 1000, 100, exe)),
        (Role.PM, area, TaskAssigned(ops, area, Role.DEVOPS, 1, ("FR-1",), "Deploy", 1000, 100, exe)),
        (Role.DEV, "w1", TaskStarted(dev, area, Role.DEV, 1, 0, 100)),
        (Role.DEV, "w1", TaskHeartbeat(dev, area, Role.DEV, 1, 0, 1)),
        (Role.DEV, "w1", TaskCompleted(dev, area, Role.DEV, 1, 0, "done")),
        (Role.MONITOR, area, QaRequested(qa, area, dev, ("FR-1",), 1, 0)),
        (Role.QA, "q1", TaskStarted(qa, area, Role.QA, 1, 0, 100)),
        (Role.QA, "q1", QaFailed(qa, area, dev, 1, 0, ("login fails",))),
        (Role.MONITOR, area, MonitorAlert(dev, area, AlertKind.REPEATED_QA_FAILURE, Severity.WARNING,
                                          1, 0, "qa failed")),
        (Role.MONITOR, area, TaskReworkRequested(dev, area, 1, 1, "login fails")),
        (Role.DEV, "w2", TaskStarted(dev, area, Role.DEV, 1, 1, 100)),
        (Role.DEV, "w2", TaskCompleted(dev, area, Role.DEV, 1, 1, "fixed")),
        (Role.MONITOR, area, QaRequested(qa, area, dev, ("FR-1",), 1, 1)),
        (Role.QA, "q1", QaPassed(qa, area, dev, 1, 1, "ok")),
        (Role.MONITOR, area, TaskVerified(dev, area, Role.DEV, ("FR-1",))),
        (Role.MONITOR, area, DevopsRequested(ops, area, Scope.TOTAL, ("FR-1",), 1, 0)),
        (Role.DEVOPS, "d1", TaskStarted(ops, area, Role.DEVOPS, 1, 0, 100)),
        (Role.DEVOPS, "d1", DevopsDeployed(ops, area, Scope.TOTAL, 1, 0, "staging")),
        (Role.DEVOPS, "d1", SmokePassed(ops, area, Scope.TOTAL, 1, 0)),
        (Role.MONITOR, area, TaskVerified(ops, area, Role.DEVOPS, ("FR-1",))),
        (Role.PM, area, ModuleCompleted(area, 3)),
        *[(Role.CTO, None, RoleReleased(r, area, f"{r.value}-{area}", "module completed")) for r in STAFF],
        (Role.CTO, None, ProjectCompleted((area,))),
    ]
    out, cause = [], None
    for i, (role, where, payload) in enumerate(payloads):
        instance = where if where and role in (Role.DEV, Role.QA, Role.DEVOPS) else f"{role.value}-0"
        event = Event(str(uuid.uuid4()), p, request_id, cause, t0 + i,
                      Actor(role, area if role != Role.CTO else None, instance), payload,  # type: ignore[arg-type]
                      (spec,) if i == 0 else ())
        out.append(event)
        cause = event.event_id
    return out


def rejected(request_id: str) -> Event:
    return Event(str(uuid.uuid4()), "", request_id, None, 1_700_000_000_000, Actor(Role.SPEC, None, "spec-0"),
                 SpecRejected((SpecError("name", "required"),)))


def publish(settings: Settings, events: list[Event]) -> None:
    publisher = bus.Publisher(settings)
    try:
        publisher.publish_sync(events)
    finally:
        publisher.close()


@pytest.fixture
def schema(settings: Settings) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:10]}"
    kafka_topics.provision(settings)
    yield name
    with psycopg.connect(settings.dsn, autocommit=True) as conn:
        for (found,) in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s",
                                     (f"{name}%",)).fetchall():
            conn.execute(f'DROP SCHEMA "{found}" CASCADE')


def query(settings: Settings, schema: str, sql: str, *params: object) -> list[tuple]:
    with views.connect(settings.dsn, schema) as conn:
        return conn.execute(sql, params).fetchall()


def test_the_log_folds_into_read_models(settings: Settings, schema: str) -> None:
    events = [*scenario("shop-1"), rejected("req-bad")]
    publish(settings, events)
    producer = bus.Publisher(settings)
    producer.send_raw(settings.events_topic, b"shop-1", b"not avro", [])
    producer.send_raw(settings.events_topic, b"x", b"\xc3\x01garbage", [])
    producer.close()

    assert projector.run_until_caught_up(settings, schema) >= len(events) + 2

    assert query(settings, schema, "SELECT name, status, spec_sha256, modules FROM projects") == [
        ("shop-1", "completed", "ab" * 32, 1)]
    assert query(settings, schema, "SELECT area, status, tasks_total, tasks_verified FROM modules") == [
        ("backend", "completed", 3, 2)]
    tasks = query(settings, schema, "SELECT task_id, status, round, assignee, requirement_ids "
                                    "FROM tasks ORDER BY task_id")
    assert tasks == [("shop-1/backend/dev/FR-1", "verified", 1, "w2", ["FR-1"]),
                     ("shop-1/backend/devops", "verified", 0, "d1", ["FR-1"]),
                     ("shop-1/backend/qa/FR-1", "completed", 1, "q1", ["FR-1"])]
    assert query(settings, schema, "SELECT count(*) FROM events") == [(len(events),)]
    alerts = query(settings, schema, "SELECT kind, severity FROM alerts")
    assert alerts == [("repeated_qa_failure", "warning")]
    assert query(settings, schema, "SELECT errors FROM rejections WHERE request_id = 'req-bad'") == [
        ([{"path": "name", "message": "required"}],)]
    assert len(query(settings, schema, "SELECT error FROM dead_letters")) == 2


def test_every_event_delivered_twice_changes_nothing(settings: Settings, schema: str) -> None:
    events = scenario("twice-1") + scenario("twice-2")
    publish(settings, events)
    projector.run_until_caught_up(settings, schema)
    with psycopg.connect(settings.dsn) as conn:
        before = views.digests(conn, schema)
    publish(settings, events)  # the same ids again, at new offsets
    projector.run_until_caught_up(settings, schema)
    with psycopg.connect(settings.dsn) as conn:
        after = views.digests(conn, schema)
    assert {t: d for t, d in after.items() if t != "positions"} == {
        t: d for t, d in before.items() if t != "positions"}
    assert query(settings, schema, "SELECT count(*) FROM events") == [(len(events),)]


def test_a_killed_projector_neither_loses_nor_double_applies(settings: Settings, schema: str) -> None:
    events = [e for i in range(120) for e in scenario(f"crash-{i}")]
    publish(settings, events + events[:500])  # some duplicates too
    env = {**os.environ, "ORCH_TOPIC_PREFIX": settings.topic_prefix,
           "ORCH_KAFKA_BOOTSTRAP": settings.bootstrap, "ORCH_DATABASE_URL": settings.dsn}
    for _ in range(2):  # kill it mid-run twice
        proc = subprocess.Popen([sys.executable, "-m", "services.projections.projector", "--schema", schema],
                                cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seen = query_count(settings, schema)
        deadline = time.monotonic() + 60
        while query_count(settings, schema) <= seen and time.monotonic() < deadline:
            time.sleep(0.02)  # polling for progress, with a deadline
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    projector.run_until_caught_up(settings, schema)

    # the live projector seals each project it saw end (project.sealed, on the log): the
    # projects it got to before a kill are sealed once each, the rest not at all
    assert query(settings, schema, "SELECT count(*) FROM events WHERE type <> 'project.sealed'") \
        == [(len(events),)]
    [(seals, sealed)] = query(settings, schema, "SELECT count(*), count(DISTINCT project_id) FROM events "
                                                "WHERE type = 'project.sealed'")
    assert seals == sealed <= 120
    assert query(settings, schema, "SELECT count(*) FROM tasks WHERE status <> 'completed' "
                                   "AND status <> 'verified'") == [(0,)]
    assert query(settings, schema, "SELECT count(*) FROM projects WHERE status = 'completed'") == [(120,)]
    clean = f"{schema}_clean"
    projector.run_until_caught_up(settings, clean)
    with psycopg.connect(settings.dsn) as conn:
        assert views.digests(conn, schema) == views.digests(conn, clean)


def query_count(settings: Settings, schema: str) -> int:
    try:
        return int(query(settings, schema, "SELECT count(*) FROM events")[0][0])
    except psycopg.errors.UndefinedTable:
        return 0


def test_rebuild_equals_live_and_swaps_in(settings: Settings, schema: str) -> None:
    from orchestrator.entrypoints.projections_cli import rebuild

    events = scenario("rb-1") + scenario("rb-2") + [rejected("rb-bad")]
    publish(settings, events + events[:5])
    projector.run_until_caught_up(settings, schema)
    with psycopg.connect(settings.dsn) as conn:
        live = views.digests(conn, schema)

    result = rebuild(settings, verify=True, live=schema)

    assert result.swapped and not result.mismatched
    assert result.digests == live
    with psycopg.connect(settings.dsn) as conn:
        assert views.digests(conn, schema) == live
        names = {n for (n,) in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s",
                                            (f"{schema}%",))}
    assert names == {schema}
    # the projector resumes in the swapped-in schema from its stored positions
    publish(settings, scenario("rb-3"))
    projector.run_until_caught_up(settings, schema)
    assert query(settings, schema, "SELECT count(*) FROM projects") == [(3,)]


def test_the_projector_serves_its_lag_batches_and_records_as_metrics(settings: Settings, schema: str) -> None:
    from orchestrator.adapters.stack.proc import free_port

    events = scenario("metrics-1")
    publish(settings, events)
    applied = float(len(events) + 1)  # and the project.sealed the live projector publishes
    port = free_port()
    env = {**os.environ, "ORCH_TOPIC_PREFIX": settings.topic_prefix, "ORCH_HEALTH_PORT": str(port),
           "ORCH_KAFKA_BOOTSTRAP": settings.bootstrap, "ORCH_DATABASE_URL": settings.dsn}
    proc = subprocess.Popen([sys.executable, "-m", "services.projections.projector", "--schema", schema],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline, text = time.monotonic() + 60, ""
        while time.monotonic() < deadline:  # read until the metrics show every event, or the deadline
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            except httpx.TransportError:
                continue
            if f'orchestrator_projector_records_total{{outcome="applied"}} {applied}' in text \
                    and 'orchestrator_projector_lag_records{partition="0"} 0.0' in text:
                break
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)
    assert f'orchestrator_projector_records_total{{outcome="applied"}} {applied}' in text, text
    assert "orchestrator_projector_batch_records_count" in text
    assert "orchestrator_projector_batch_seconds_bucket" in text
    lags = [line for line in text.splitlines() if line.startswith("orchestrator_projector_lag_records{")]
    assert len(lags) == settings.partitions and all(line.endswith(" 0.0") for line in lags)
