"""The reliability battery's tools: a generated workload, a ledger of the log, the checks.

The ledger reads every record on the events topic from offset 0 (its own consumer, no
group), so loss and duplicates are counted from what the broker acknowledged, not from
what a service believes. Duplicates are judged per *effect*: a logical key per event type
(one project.completed per project, one task.verified per task, ...) must carry exactly
one distinct event id; the same id at two offsets is a harmless producer retry.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition

from orchestrator.adapters import bus, client
from orchestrator.adapters.config import Settings
from orchestrator.core import codec
from orchestrator.core.envelope import Event

AREAS = ("backend", "web", "mobile")
TERMINAL = client.TERMINAL

SPEC = """\
apiVersion: orchestrator/v1
kind: Spec
project: {name}
modules:
{modules}
policy:
  max_attempts: 6
  deadlines: {{dev: 60s, qa: 60s, devops: 60s}}
  heartbeat_timeout: {heartbeat}
executors:
  dev: {{kind: simulated, duration: {dev}ms}}
  qa: {{kind: simulated, duration: {qa}ms, seed: 7{fail}}}
  devops: {{kind: simulated, duration: {devops}ms}}
"""


@dataclass(frozen=True)
class Project:
    name: str
    document: bytes
    requirements: dict[str, tuple[str, ...]]  # area -> requirement ids
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def workload(projects: int = 20, seed: int = 1, heartbeat: str = "3s",
             max_ms: int = 50, dev_ms: tuple[int, int] | None = None) -> list[Project]:
    """`projects` specs of three modules each; every third one fails QA of one requirement once."""
    rng = random.Random(seed)
    out = []
    n = 0
    for i in range(projects):
        reqs: dict[str, tuple[str, ...]] = {}
        lines = []
        for area in AREAS:
            count = 2 if (area == "backend" and i % 2 == 0) else 1
            ids = tuple(f"FR-{n + k + 1}" for k in range(count))
            n += count
            reqs[area] = ids
            lines.append(f"  - area: {area}\n    requirements:")
            lines += [f"      - {{id: {r}, title: Requirement {r} of project {i}}}" for r in ids]
        fail = f", fail_first: {reqs['web'][0]}" if i % 3 == 0 else ""
        text = SPEC.format(name=f"Reliability {seed}-{i:02d}", modules="\n".join(lines),
                           heartbeat=heartbeat, dev=rng.randint(*(dev_ms or (0, max_ms))),
                           qa=rng.randint(0, max_ms), devops=rng.randint(0, max_ms), fail=fail)
        out.append(Project(f"Reliability {seed}-{i:02d}", text.encode(), reqs))
    return out


def expected_tasks(projects: list[Project]) -> int:
    """Tasks verified per fully completed workload: one dev task per requirement, one devops per module."""
    return sum(sum(len(r) for r in p.requirements.values()) + len(AREAS) for p in projects)


def inject_copies(settings: Settings, events: list[Event]) -> int:
    """Produce every event again, marked as the fault's copy; returns how many."""
    producer = Producer(bus.producer_config(settings))
    for event in events:
        topic, key, value, headers = bus.record_for(settings, event)
        producer.produce(topic, value, key, headers=[*headers, (INJECTED, b"1")])
    assert producer.flush(60) == 0
    return len(events)


def submit(settings: Settings, projects: list[Project]) -> None:
    publisher = bus.Publisher(settings)
    try:
        publisher.publish_sync([client.submission(p.document, f"{p.name}.yaml", p.request_id)
                                for p in projects])
    finally:
        publisher.close()


# -- the ledger -------------------------------------------------------------------------


INJECTED = "x-injected-copy"  # header on copies a fault writes: they are not the fleet's


@dataclass(frozen=True)
class Entry:
    partition: int
    offset: int
    event: Event
    injected: bool = False


class Ledger:
    """Every record of the events topic, from offset 0, read in a background thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.entries: list[Entry] = []
        self.undecodable: list[tuple[int, int]] = []
        self.positions: dict[int, int] = {}  # next offset per partition, past commit markers too
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="ledger")
        self._thread.start()

    def _run(self) -> None:
        topic = self.settings.events_topic
        consumer = Consumer(bus.consumer_config(self.settings, f"ledger-{uuid.uuid4()}",
                                                **{"enable.auto.commit": False}))
        try:
            consumer.assign([TopicPartition(topic, p, 0) for p in range(self.settings.partitions)])
            parts = [TopicPartition(topic, p) for p in range(self.settings.partitions)]
            while not self._stop.is_set():
                msg = consumer.poll(0.2)
                if msg is None or msg.error():
                    found = {tp.partition: tp.offset for tp in consumer.position(parts) if tp.offset >= 0}
                    with self._lock:
                        self.positions.update(found)
                    continue
                try:
                    event = codec.decode(msg.value())
                except codec.DecodeError:
                    with self._lock:
                        self.undecodable.append((msg.partition() or 0, msg.offset() or 0))
                    continue
                injected = any(k == INJECTED for k, _ in (msg.headers() or []))
                with self._lock:
                    self.entries.append(Entry(msg.partition() or 0, msg.offset() or 0, event, injected))
        finally:
            consumer.close()

    def snapshot(self, request_ids: set[str] | None = None) -> list[Entry]:
        with self._lock:
            found = list(self.entries)
        if request_ids is None:
            return found
        return [e for e in found if e.event.request_id in request_ids]

    def events(self, request_ids: set[str] | None = None) -> list[Event]:
        """Distinct events (first occurrence of each id)."""
        seen: dict[str, Event] = {}
        for e in self.snapshot(request_ids):
            seen.setdefault(e.event.event_id, e.event)
        return list(seen.values())

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)


def terminal_of(events: list[Event]) -> dict[str, str]:
    """request id -> its terminal event type, for requests that have one."""
    return {e.request_id: e.type for e in events if e.type in TERMINAL}


def wait_until(ledger: Ledger, request_ids: set[str], done: Callable[[list[Event]], bool],
               timeout: float) -> list[Event]:
    deadline = time.monotonic() + timeout
    while True:
        events = ledger.events(request_ids)
        if done(events) or time.monotonic() > deadline:
            return events
        time.sleep(0.25)


def all_terminal(request_ids: set[str]) -> Callable[[list[Event]], bool]:
    return lambda events: set(terminal_of(events)) >= request_ids


def progressed(fraction: float, total_tasks: int) -> Callable[[list[Event]], bool]:
    """True once `fraction` of the workload's tasks are verified: a point mid-run."""
    return lambda events: sum(e.type == "task.verified" for e in events) >= fraction * total_tasks


# -- the checks -------------------------------------------------------------------------

_ROUNDED = {"task.started", "task.completed", "task.failed", "qa.passed", "qa.failed",
            "devops.deployed", "devops.failed", "smoke.passed", "smoke.failed"}


def effect_key(e: Event) -> tuple[Any, ...] | None:
    """The logical effect an event stands for; two distinct ids for one key = applied twice."""
    p: Any = e.payload
    t = e.type
    if t in ("project.created", "spec.rejected"):
        return ("request", e.request_id)
    if t in ("project.completed", "project.blocked"):
        return ("project-outcome", e.project_id)
    if t == "charter.created":
        return (t, e.project_id)
    if t in ("module.planned", "backlog.created"):
        return (t, e.project_id, p.area)
    if t in ("module.completed", "module.blocked"):
        return ("module-outcome", e.project_id, p.area)
    if t == "task.verified":
        return (t, p.task_id)
    if t == "task.assigned":
        return (t, p.task_id, p.attempt)
    if t in _ROUNDED:
        kind = t if t == "task.started" else "smoke" if t.startswith("smoke.") \
            else f"{e.actor.role}-outcome"
        return (kind, p.task_id, p.attempt, p.round)
    return None


@dataclass
class Figures:
    fault: str
    projects: int
    terminal: int
    tasks_expected: int
    tasks_verified: int
    tasks_lost: int
    duplicate_effects: int
    log_copies: int  # same event id at two offsets, written by the fleet itself (must be 0)
    recovery_s: float | None
    dlq: int
    digest: str
    problems: list[str]
    projection: str = "-"  # the Postgres read model vs a rebuild from offset 0 ("-": not run)

    def row(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


def state_of(projects: list[Project], events: list[Event]) -> dict[str, Any]:
    """The final logical state by natural keys (project name, area, role, requirements)."""
    by_request = {p.request_id: p for p in projects}
    outcome = terminal_of(events)
    assigned: dict[str, Any] = {}
    for e in events:
        if e.type == "task.assigned":
            assigned[e.payload.task_id] = e  # type: ignore[union-attr]
    verified = {e.payload.task_id for e in events if e.type == "task.verified"}  # type: ignore[union-attr]
    cancelled = {e.payload.task_id for e in events if e.type == "task.cancelled"}  # type: ignore[union-attr]
    state: dict[str, Any] = {}
    for rid, p in by_request.items():
        tasks = {}
        for tid, e in assigned.items():
            if e.request_id != rid:
                continue
            a: Any = e.payload
            key = f"{a.area}/{a.role}/{','.join(a.requirement_ids)}"
            tasks[key] = ("verified" if tid in verified else "cancelled" if tid in cancelled
                          else "open")
        modules = sorted(e.payload.area for e in events  # type: ignore[union-attr]
                         if e.request_id == rid and e.type == "module.completed")
        state[p.name] = {"outcome": outcome.get(rid, "none"), "modules": modules,
                         "tasks": dict(sorted(tasks.items()))}
    return dict(sorted(state.items()))


def digest(state: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()[:16]


def check(fault: str, projects: list[Project], ledger: Ledger, recovery_s: float | None,
          dlq: int = 0) -> tuple[Figures, dict[str, Any]]:
    rids = {p.request_id for p in projects}
    entries = ledger.snapshot(rids)
    events = ledger.events(rids)
    problems: list[str] = []
    at = Counter(e.event.event_id for e in entries if not e.injected)
    log_dups = sum(n - 1 for n in at.values())
    if log_dups:
        problems.append(f"{log_dups} copies of events the fleet wrote twice")
    ids_by_effect: dict[tuple[Any, ...], set[str]] = defaultdict(set)
    for e in events:
        key = effect_key(e)
        if key is not None:
            ids_by_effect[key].add(e.event_id)
    dup = {k: v for k, v in ids_by_effect.items() if len(v) > 1}
    by_id = {e.event_id: e for e in events}

    def cause(event_id: str) -> str:  # "<type>(<its cause's type>)": where a copy came from
        c = by_id.get(by_id[event_id].causation_id or "")
        p: Any = c.payload if c else None
        return f"{c.type} round {getattr(p, 'round', '?')} scope {getattr(p, 'scope', '-')}" if c else "?"

    for k, v in sorted(dup.items(), key=str)[:10]:
        problems.append(f"effect applied {len(v)} times: {k}, caused by {sorted(cause(i) for i in v)}")
    outcome = terminal_of(events)
    for p in projects:
        if outcome.get(p.request_id) != "project.completed":
            problems.append(f"{p.name}: outcome {outcome.get(p.request_id, 'none')}")
        planned = {e.payload.area for e in events  # type: ignore[union-attr]
                   if e.request_id == p.request_id and e.type == "module.completed"}
        if planned != set(AREAS):
            problems.append(f"{p.name}: modules completed {sorted(planned)}")
    expected = expected_tasks(projects)
    verified = len({e.payload.task_id for e in events if e.type == "task.verified"})  # type: ignore[union-attr]
    state = state_of(projects, events)
    figures = Figures(fault, len(projects), len(outcome), expected, verified,
                      max(expected - verified, 0), len(dup), log_dups,
                      None if recovery_s is None else round(recovery_s, 1), dlq, digest(state),
                      problems)
    return figures, state


def iter_dead_letters(settings: Settings, timeout: float = 5.0) -> Iterator[Any]:
    """Every record on the DLQ topic now (stops at the end)."""
    consumer = Consumer(bus.consumer_config(settings, f"dlq-read-{uuid.uuid4()}",
                                            **{"enable.auto.commit": False}))
    try:
        tp = TopicPartition(settings.dlq_topic, 0)
        lo, hi = consumer.get_watermark_offsets(tp, timeout=10)
        if hi <= lo:
            return
        consumer.assign([TopicPartition(settings.dlq_topic, 0, lo)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            yield msg
            if (msg.offset() or 0) + 1 >= hi:
                return
    finally:
        consumer.close()


# -- the projection -------------------------------------------------------------------


def _positions(settings: Settings, schema: str) -> dict[int, int]:
    import psycopg
    from psycopg import sql

    try:
        with psycopg.connect(settings.dsn, connect_timeout=3, autocommit=True) as conn:
            rows = conn.execute(sql.SQL("SELECT partition, next_offset FROM {}.positions WHERE topic = %s")
                                .format(sql.Identifier(schema)), (settings.events_topic,)).fetchall()
    except psycopg.Error:  # not migrated yet, or the database is down
        return {}
    return dict(rows)


def wait_projection(settings: Settings, schema: str, timeout: float) -> bool:
    """True once the live projection has applied everything on the log now."""
    from services.projections import log_reader

    targets = log_reader.high_watermarks(settings)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stored = _positions(settings, schema)
        if all(stored.get(p, 0) >= t for p, t in targets.items()):
            return True
        time.sleep(0.25)
    return False


def check_projection(settings: Settings, schema: str, ledger: Ledger, timeout: float = 60.0) -> list[str]:
    """Event ids unique in Postgres and equal to the log's; every table's digest equals a
    rebuild from offset 0 at the same log positions (projections rebuild --verify)."""
    import psycopg
    from psycopg import sql

    from orchestrator.entrypoints import projections_cli
    from services.projections import log_reader

    problems: list[str] = []
    if not wait_projection(settings, schema, timeout):
        return [f"projection not caught up within {timeout:.0f}s"]
    ends = log_reader.high_watermarks(settings)
    deadline = time.monotonic() + timeout
    while any(ledger.positions.get(p, 0) < end for p, end in ends.items()) and time.monotonic() < deadline:
        time.sleep(0.2)
    logged = {e.event.event_id for e in ledger.snapshot()}
    with psycopg.connect(settings.dsn, autocommit=True) as conn:
        row = conn.execute(sql.SQL("SELECT count(*), count(DISTINCT event_id) FROM {}.events")
                           .format(sql.Identifier(schema))).fetchone()
    rows, distinct = row if row else (0, 0)
    if rows != distinct:
        problems.append(f"projection: {rows - distinct} duplicate event rows")
    if distinct != len(logged):
        problems.append(f"projection: {distinct} events in Postgres, {len(logged)} distinct ids in the log")
    for _ in range(3):  # a record landing mid-rebuild makes the replay overshoot: try again
        result = projections_cli.rebuild(settings, verify=True, live=schema)
        if not result.mismatched:
            break
        wait_projection(settings, schema, timeout)
    else:
        problems.append(f"projection != rebuild from offset 0 in {', '.join(result.mismatched)}")
    return problems


# -- an ambiguous write ---------------------------------------------------------------

PRODUCE = 0  # Kafka API key of a Produce request


class CuttingProxy:
    """A TCP proxy on 127.0.0.1 in front of a broker, in its own thread.

    It forwards whole request frames; while `armed`, a Produce request is forwarded to the
    broker, which appends it, and then the client's connection is dropped before the
    response is relayed: the client sees a timeout/disconnect for a write that happened.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.armed = 0
        self.cuts = 0
        self.produces = 0
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="proxy")
        self._thread.start()
        self.server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0), self.loop).result(10)
        self.port: int = self.server.sockets[0].getsockname()[1]

    def arm(self, cuts: int) -> None:
        self.armed = cuts

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return
        cut = asyncio.Event()

        async def to_broker() -> None:
            buf = b""
            while data := await reader.read(65536):
                buf += data
                while len(buf) >= 4 and len(buf) >= 4 + int.from_bytes(buf[:4], "big"):
                    size = 4 + int.from_bytes(buf[:4], "big")
                    frame, buf = buf[:size], buf[size:]
                    produce = int.from_bytes(frame[4:6], "big", signed=True) == PRODUCE
                    if produce:
                        self.produces += 1
                    if produce and self.armed > 0:
                        self.armed -= 1
                        self.cuts += 1
                        cut.set()  # no response reaches the client from now on
                        up_w.write(frame)
                        await up_w.drain()
                        await asyncio.sleep(0.5)  # the broker appends and answers into the void
                        return
                    up_w.write(frame)
                    await up_w.drain()

        async def to_client() -> None:
            while data := await up_r.read(65536):
                if cut.is_set():
                    return
                writer.write(data)
                await writer.drain()

        tasks = [asyncio.ensure_future(to_broker()), asyncio.ensure_future(to_client())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            for t in tasks:
                t.cancel()
            for w in (writer, up_w):
                w.close()

    def close(self) -> None:
        async def shut() -> None:
            self.server.close()

        asyncio.run_coroutine_threadsafe(shut(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
