"""The thin shell around a pure decider: a Faust agent in, an idempotent producer out.

Per record: decode (or dead-letter), let the Runtime dedupe/decide/fold, store attached
artifacts, produce. The agent runs at concurrency 1 and does not wait for each ack: when
a service gets partitions it rebuilds their state by replaying the log up to the group's
committed offset (DESIGN §5: the log is the source of truth) and re-produces every event
it decides that the log lacks, so a crash before delivery loses nothing, and Faust's
redeliveries change nothing. A delivery that fails for good stops the process loudly.
Workers run executions concurrently after the claim, bounded per instance.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any

import faust
from confluent_kafka import Consumer, KafkaException, TopicPartition
from prometheus_client import CollectorRegistry, Counter, generate_latest

from orchestrator import artifacts, codec, worker
from orchestrator.bus import Publisher, consumer_config, dead_letter_headers
from orchestrator.config import Settings
from orchestrator.envelope import Actor, Event
from orchestrator.events import Role, SpecSubmitted
from orchestrator.runtime import Runtime

log = logging.getLogger("orchestrator.shell")
RAW_SPEC_TYPES = {b"application/yaml", b"application/json", b"text/yaml"}


@dataclass(frozen=True)
class ActorDef:
    """How one actor service is wired: plain data, read at its entry point."""

    name: str
    role: Role
    decider: ModuleType
    tick_ms: int = 0
    intake: bool = False
    worker: bool = False


def now_ms() -> int:
    return int(time.time() * 1000)


class Shell:
    def __init__(self, defn: ActorDef, area: str, settings: Settings) -> None:
        self.defn = defn
        self.settings = settings
        self.group = f"{settings.topic_prefix}-{defn.name}-{area}"
        instance = f"{socket.gethostname()}-{os.getpid()}"
        self.me = Actor(defn.role, None if area == "all" else area, instance)
        options = {"max_spec_bytes": settings.max_spec_bytes} if defn.intake else {}
        self.runtime = Runtime(defn.decider, self.me, options, prepare=self._prepare)
        # successes are not reported one by one (no per-record callback, no loop wakeup);
        # awaited paths drain the producer instead
        self.publisher = Publisher(settings, **{"delivery.report.only.error": True})
        self.committed_floor: dict[int, int] = {}
        self.catching_up: dict[int, int] = {}  # partition -> end offset to read before judging time
        self.position: dict[int, int] = {}  # partition -> next offset to read
        self.blind = False  # the broker was unreachable at the last tick
        self.quiet_until = 0.0
        self._watcher: Consumer | None = None
        self.partition_of: dict[str, int] = {}
        self.running: dict[str, asyncio.Task[None]] = {}
        self.lock = asyncio.Lock()
        self.idle = asyncio.Event()
        self.idle.set()
        self.metrics = CollectorRegistry()
        self.consumed = Counter("orchestrator_events_consumed", "Records read", ["topic"],
                                registry=self.metrics)
        self.produced = Counter("orchestrator_events_produced", "Events published", ["type"],
                                registry=self.metrics)
        self.dead = Counter("orchestrator_dead_letters", "Records dead-lettered", ["topic"],
                            registry=self.metrics)

    # -- wiring --------------------------------------------------------------------
    def app(self) -> faust.App:
        s = self.settings
        datadir = (s.run_dir / "faust").resolve()
        datadir.mkdir(parents=True, exist_ok=True)
        app = faust.App(
            self.group,
            broker=f"kafka://{s.bootstrap}",
            value_serializer="raw",
            key_serializer="raw",
            topic_disable_leader=True,
            topic_allow_declare=False,
            consumer_auto_offset_reset="earliest",
            producer_acks=-1,
            broker_commit_interval=1.0,
            broker_session_timeout=10.0,
            broker_heartbeat_interval=2.0,
            web_enabled=s.health_port > 0,
            web_port=s.health_port or 6066,
            web_bind="0.0.0.0",
            datadir=str(datadir / self.group),
            store="memory://",
        )
        names = [s.events_topic, *([s.specs_topic] if self.defn.intake else [])]
        topic = app.topic(*names, value_serializer="raw", key_serializer="raw")
        app.agent(topic, name=f"{self.group}-agent", concurrency=1)(self._consume)
        app.on_partitions_assigned.connect(self._on_assigned)  # type: ignore[arg-type]
        app.on_before_shutdown.connect(self._flush)
        if self.defn.tick_ms:
            app.timer(self.defn.tick_ms / 1000)(self._tick)
        if s.health_port:
            self._serve_health(app)
        return app

    def _flush(self, *_: Any, **__: Any) -> None:
        self.publisher.flush(10)

    def _serve_health(self, app: faust.App) -> None:
        async def healthz(web: Any, request: Any) -> Any:
            return web.json({"status": "ok"})

        async def readyz(web: Any, request: Any) -> Any:
            ready = bool(self.committed_floor) or self.defn.intake
            return web.json({"status": "ready" if ready else "waiting for partitions"},
                            status=200 if ready else 503)

        async def metrics(web: Any, request: Any) -> Any:
            return web.text(generate_latest(self.metrics).decode(), content_type="text/plain")

        app.page("/healthz")(healthz)
        app.page("/readyz")(readyz)
        app.page("/metrics")(metrics)

    async def _consume(self, stream: Any) -> None:
        async for record in stream.events():
            m = record.message
            await self.on_record(m.topic, m.partition, m.offset, m.value, m.headers, m.key)

    # -- one record ----------------------------------------------------------------
    async def on_record(self, topic: str, partition: int, offset: int, value: bytes | None,
                        headers: Any, key: bytes | None = None) -> None:
        if topic == self.settings.events_topic:
            if offset < self.committed_floor.get(partition, 0):
                return
            self.position[partition] = offset + 1
            if offset + 1 >= self.catching_up.get(partition, 0):
                self.catching_up.pop(partition, None)
        self.consumed.labels(topic).inc()
        try:
            event = self._decode(topic, partition, offset, value, headers)
        except codec.DecodeError as exc:
            await self.dead_letter(topic, partition, offset, value, headers, exc, key)
            return
        if self.defn.worker:
            await self._capacity()
        async with self.lock:
            try:
                outputs = self.runtime.handle(event)
            except Exception as exc:  # a decider bug must not block the partition
                log.exception("decider failed on %s %s", event.type, event.event_id)
                await self.dead_letter(topic, partition, offset, value, headers, exc, key)
                return
            self._emit(outputs)
        if topic == self.settings.events_topic:
            self.partition_of[event.project_id] = partition
        self._start_claims(outputs)

    def _decode(self, topic: str, partition: int, offset: int, value: bytes | None,
                headers: Any) -> Event:
        if len(value or b"") > self.settings.max_record_bytes:
            raise codec.DecodeError(f"record of {len(value or b'')} bytes exceeds the limit")
        found = dict(headers or [])
        if topic == self.settings.specs_topic and found.get("content-type") in RAW_SPEC_TYPES:
            return _raw_submission(topic, partition, offset, value or b"", self.me)
        return codec.decode(value)

    async def dead_letter(self, topic: str, partition: int, offset: int, value: bytes | None,
                          headers: Any, error: BaseException, key: bytes | None = None) -> None:
        log.warning("dead-lettering %s[%d]@%d: %s", topic, partition, offset, error)
        self.dead.labels(topic).inc()
        hdrs = [*list(headers or []), *dead_letter_headers(topic, partition, offset, error,
                                                           self.group)]
        # the original key too, so `orchestrator dlq replay` re-drives the record as it came
        self.publisher.send_raw(self.settings.dlq_topic, key, value, hdrs, self._undeliverable)
        await self.publisher.drain()

    def _emit(self, events: list[Event]) -> None:
        """Produce, counted once here: replayed decisions the log already has never get here."""
        for event in events:
            self.produced.labels(event.type).inc()
        self.publisher.emit(events, self._undeliverable)

    def _undeliverable(self, error: Any) -> None:
        """librdkafka gave up on a record: stop now; the restart's replay re-produces it."""
        log.critical("delivery failed for good (%s); exiting so a restart replays the log", error)
        os._exit(70)

    def _prepare(self, event: Event) -> Event:
        event = replace(event, occurred_at=now_ms())
        if not event.attachments:
            return event
        refs = tuple(artifacts.store(self.settings.artifacts, a) for a in event.attachments)
        return replace(event, artifacts=event.artifacts + refs, attachments=())

    # -- time ----------------------------------------------------------------------
    async def _tick(self) -> None:
        if self.catching_up or not await self._sees_the_log():
            return  # time judged on a stale view would raise false alerts
        async with self.lock:
            outputs = self.runtime.tick(now_ms())
            self._emit(outputs)
            await self.publisher.drain()

    async def _sees_the_log(self) -> bool:
        """Not while the broker is unreachable; after it returns, only once what was written
        meanwhile has been read and the workers have had time to report again."""
        loop = asyncio.get_running_loop()
        try:
            ends = await loop.run_in_executor(None, self._end_offsets)
        except KafkaException:
            self.blind = True
            return False
        if self.blind:
            self.blind = False
            self.quiet_until = time.monotonic() + 6 * self.defn.tick_ms / 1000
            self.catching_up.update({p: end for p, end in ends.items() if end > self.position.get(p, 0)})
            return False
        return time.monotonic() >= self.quiet_until

    def _end_offsets(self) -> dict[int, int]:
        if self._watcher is None:
            self._watcher = Consumer({"bootstrap.servers": self.settings.bootstrap,
                                      "group.id": f"{self.group}-watch", "enable.auto.commit": False})
        topic = self.settings.events_topic
        return {p: self._watcher.get_watermark_offsets(TopicPartition(topic, p), 1.0, cached=False)[1]
                for p in list(self.committed_floor)}

    # -- rebuild on assignment -----------------------------------------------------
    async def _on_assigned(self, sender: Any, assigned: Any, *_: Any, **__: Any) -> None:
        mine = {tp.partition for tp in assigned if tp.topic == self.settings.events_topic}
        for p in set(self.committed_floor) - mine:
            self._revoke(p)
        fresh = sorted(mine - set(self.committed_floor))
        if not fresh:
            return
        async with self.lock:
            loop = asyncio.get_running_loop()
            pending = await loop.run_in_executor(None, self._replay, fresh)
            self._emit(pending)
            await self.publisher.drain()
        if self.defn.worker:
            for project_id, p in list(self.partition_of.items()):
                if p in fresh:
                    self._start_claims(worker.unfinished(self.runtime.state(project_id)))

    def _revoke(self, partition: int) -> None:
        del self.committed_floor[partition]
        self.catching_up.pop(partition, None)
        gone = {pid for pid, p in self.partition_of.items() if p == partition}
        self.runtime.forget(lambda pid: pid not in gone)
        for started_id, task in list(self.running.items()):
            if task.get_name() in gone:
                task.cancel()
                self.running.pop(started_id, None)

    def _replay(self, partitions: list[int]) -> list[Event]:
        """Fold each partition up to the committed offset; return outputs the log lacks."""
        topic = self.settings.events_topic
        consumer = Consumer(consumer_config(self.settings, self.group, **{"enable.auto.commit": False}))
        try:
            committed = consumer.committed([TopicPartition(topic, p) for p in partitions], 30)
            ends = {tp.partition: max(tp.offset, 0) for tp in committed}
            his = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), 30)[1]
                   for p in partitions}
            consumer.assign([TopicPartition(topic, p, 0) for p in partitions if his[p] > 0])
            todo = {p for p in partitions if his[p] > 0}
            made: dict[str, Event] = {}
            in_log: set[str] = set()
            while todo:
                msg = consumer.poll(1.0)
                if msg is None or msg.error():
                    continue
                p, off = int(msg.partition() or 0), int(msg.offset() or 0)
                if off < ends[p]:
                    try:
                        event = codec.decode(msg.value())
                    except codec.DecodeError:
                        continue
                    in_log.add(event.event_id)
                    self.partition_of[event.project_id] = p
                    made.update((o.event_id, o) for o in self.runtime.handle(event))
                else:
                    found = dict(msg.headers() or []).get("event_id") or b""
                    in_log.add(found.decode() if isinstance(found, bytes) else str(found))
                if off + 1 >= his[p]:
                    todo.discard(p)
            for p in partitions:
                self.committed_floor[p] = ends[p]
                if his[p] > ends[p]:
                    self.catching_up[p] = his[p]
            return [e for i, e in made.items() if i not in in_log]
        finally:
            consumer.close()

    # -- workers -------------------------------------------------------------------
    async def _capacity(self) -> None:
        while len(self.running) >= self.settings.worker_concurrency:
            self.idle.clear()
            await self.idle.wait()

    def _start_claims(self, events: list[Event]) -> None:
        if not self.defn.worker:
            return
        for started in events:
            if started.type == "task.started" and started.event_id not in self.running:
                task = asyncio.create_task(self._execute(started), name=started.project_id)
                self.running[started.event_id] = task

    async def _execute(self, started: Event) -> None:
        from orchestrator import executors

        decider = self.defn.decider
        try:
            work = decider.work_of(self.runtime.state(started.project_id), started)
            beats = asyncio.create_task(self._heartbeat(started))
            try:
                outcome = await executors.runner_for(work.executor, self.settings).run(work)
            finally:
                beats.cancel()
            async with self.lock:
                state = self.runtime.state(started.project_id)
                outputs = self.runtime.apply(started.project_id,
                                             decider.finish(state, started, outcome))
                self._emit(outputs)
        finally:
            self.running.pop(started.event_id, None)
            self.idle.set()

    async def _heartbeat(self, started: Event) -> None:
        lease = getattr(started.payload, "lease_ms", 3000)
        seq = 0
        while True:
            await asyncio.sleep(max(lease / 3000, 0.2))
            seq += 1
            async with self.lock:
                beat = worker.heartbeat(started, seq, self.me)
                self._emit(self.runtime.apply(started.project_id, [beat]))


def _raw_submission(topic: str, partition: int, offset: int, value: bytes, me: Actor) -> Event:
    """A spec document produced as plain YAML/JSON: give it deterministic ids from its place."""
    from orchestrator.envelope import derive_id

    request_id = derive_id(f"{topic}/{partition}/{offset}", "request")
    return Event(
        event_id=derive_id(request_id, "spec.submitted"),
        project_id="",
        request_id=request_id,
        causation_id=None,
        occurred_at=now_ms(),
        actor=Actor(Role.CLIENT, None, "kafka"),
        payload=SpecSubmitted(document=value),
    )


def run(defn: ActorDef, area: str, settings: Settings) -> None:
    import sys

    from faust.worker import Worker

    sys.setswitchinterval(0.0005)  # three threads share the GIL per record: hand it over fast
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    shell = Shell(defn, area, settings)
    app = shell.app()
    Worker(app, loglevel="warning", quiet=True).execute_from_commandline()
