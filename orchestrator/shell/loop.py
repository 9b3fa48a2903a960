"""The record path: consume a batch, decide, and commit outputs, states and offsets at once.

Per batch (a first record, then whatever else is already fetched, at most `BATCH`):
skip by header what the decider does not react to, decode, let the Runtime decide, stamp
and fold the outputs. Worker heartbeats and results and the Monitor's ticks join the
same pending transaction. A transaction commits at once when it carries outputs, within
`LAZY_S` when it carries only state changes, within `IDLE_S` when only offsets moved.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import time
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from orchestrator import bus, codec
from orchestrator.envelope import Tick
from orchestrator.runtime import Step
from orchestrator.shell import intake, rebalance
from orchestrator.shell.clock import Clock
from orchestrator.shell.headers import read_headers
from orchestrator.shell.parts import Parts
from orchestrator.shell.stamp import record, stamp
from orchestrator.shell.txn import Fatal, Out, Transactions
from orchestrator.shell.workers import Beat, Executions, Report, Result
from orchestrator.wallclock import now_ms
from orchestrator.worker import heartbeat

log = logging.getLogger("orchestrator.loop")
BATCH = 500
LAZY_S = 0.1
IDLE_S = 1.0
RESET_MAX_S = 15.0


class ConsumerBroken(RuntimeError):
    """The consumer reported a fatal error (e.g. a static member fenced after a broker restart)."""


@dataclass
class Pending:
    """What the next transaction carries beyond the changed states."""

    records: list[Out] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)
    urgent: bool = False


class Loop:
    def __init__(self, parts: Parts) -> None:
        self.parts = parts
        s = parts.settings
        self.consumer = self._consumer()
        self.txn = self._transactions()
        self.resets: list[float] = []
        self.outbox: queue.SimpleQueue[Report] = queue.SimpleQueue()
        self.executions = Executions(s, self.outbox) if parts.worker else None
        self.clock = Clock(parts.defn.tick_ms, self._ends) if parts.defn.tick_ms else None
        self.positions: dict[int, int] = {}  # partition -> next offset to read and commit
        self.committed: dict[int, int] = {}  # what the last commit stored
        self.pending = Pending()
        self.rebuild = rebalance.Rebuild()
        self.last_commit = time.monotonic()
        self.last_error_log = 0.0
        self.last_markers = 0.0
        self.joined = False
        self.paused = False
        self.stopping = False
        self.idle_wait = 0.001

    # -- the clients -------------------------------------------------------------------
    def _consumer(self) -> Consumer:
        s, parts = self.parts.settings, self.parts
        consumer = Consumer(bus.consumer_config(s, parts.group, **{
            "enable.auto.commit": False,
            "partition.assignment.strategy": "cooperative-sticky",
            "session.timeout.ms": s.session_timeout_ms,
            "heartbeat.interval.ms": max(s.session_timeout_ms // 5, 500),
            "error_cb": self._client_error,
            **({"group.instance.id": f"{parts.group}.{s.instance_id}"} if s.instance_id else {}),
        }))
        consumer.subscribe([parts.topic], on_assign=lambda c, ps: rebalance.assigned(self, ps),
                           on_revoke=lambda c, ps: rebalance.revoked(self, ps),
                           on_lost=lambda c, ps: rebalance.lost(self, ps))
        return consumer

    def _transactions(self) -> Transactions:
        return Transactions(self.parts.settings, f"{self.parts.group}.{self.parts.instance}",
                            error_cb=self._client_error)

    def reset(self, why: str, consumer: bool) -> None:
        """A client broke for good (seen after a broker restart): start afresh from the last
        commit with new clients. A run of failures backs off (up to RESET_MAX_S) instead of
        exiting: a broker that is down for minutes is waited out, not crash-looped on."""
        now = time.monotonic()
        self.resets = [t for t in self.resets if now - t < 60] + [now]
        pause = min(RESET_MAX_S, 0.5 * 2 ** (len(self.resets) - 2)) if len(self.resets) > 1 else 0.0
        log.warning("new %s in %.1fs after: %s", "clients" if consumer else "producer", pause, why)
        time.sleep(pause)
        # the old producer's last commit may have landed or not: only the broker knows, so
        # memory is rebuilt from what it holds (after the new producer fenced the old one)
        held = [TopicPartition(self.parts.topic, p) for p in self.positions]
        rebalance.lost(self, held)
        self.txn = self._transactions()
        if consumer:
            with contextlib.suppress(Exception):
                self.consumer.close()
            self.consumer = self._consumer()
        elif held:
            rebalance.assigned(self, held)
            for tp in held:
                with contextlib.suppress(KafkaException):
                    self.consumer.seek(TopicPartition(tp.topic, tp.partition, self.positions[tp.partition]))

    # -- the loop ----------------------------------------------------------------------
    def run(self) -> None:
        try:
            while not self.stopping:
                try:
                    self.step()
                except ConsumerBroken as exc:
                    self.reset(str(exc), consumer=True)
            self.commit()
        finally:
            if self.executions is not None:
                self.executions.close()
            self.consumer.close()
            self.txn.close()

    def step(self) -> None:
        batch = self._fetch(self._wait())
        for msg in batch:
            self.on_record(msg)
        self._reports()
        self._tick()
        if self._due():
            self.commit()
        self._flow()
        self.parts.metrics.live.set(len(self.parts.runtime.entries))

    def _fetch(self, timeout: float) -> list[Message]:
        first = self.consumer.poll(timeout)
        if first is None:
            self._past_markers()
            return []
        batch = [first, *self.consumer.consume(BATCH - 1, 0)]
        self.parts.metrics.batch.observe(len(batch))
        self.idle_wait = 0.001
        return batch

    def _past_markers(self) -> None:
        """Idle: the consumer stands past the commit markers after the last record; so do we,
        so that a caught-up group's committed offsets equal the topic's end (lag 0)."""
        now = time.monotonic()
        if now - self.last_markers < IDLE_S / 2:
            return
        self.last_markers = now
        topic = self.parts.topic
        for tp in self.consumer.position([TopicPartition(topic, p) for p in self.positions]):
            if tp.offset > self.positions.get(tp.partition, tp.offset):
                self.positions[tp.partition] = tp.offset

    def _wait(self) -> float:
        """How long the next poll may block: results, ticks and lazy commits must not wait."""
        if not self.outbox.empty():
            return 0.0
        waits = [0.2]
        since = time.monotonic() - self.last_commit
        if self.parts.runtime.dirty:
            waits.append(max(LAZY_S - since, 0.0))
        elif self.positions != self.committed:
            waits.append(max(IDLE_S - since, 0.0))
        if self.clock is not None:
            waits.append(self.clock.seconds_to_tick())
        if self.executions is not None and self.executions.running:
            waits.append(self.idle_wait)  # a result cannot wake the poll: look again soon
            self.idle_wait = min(self.idle_wait * 2, 0.05)
        return min(waits)

    # -- one record --------------------------------------------------------------------
    def on_record(self, msg: Message) -> None:
        p = self.parts
        err = msg.error()
        if err is not None:
            if err.fatal() or err.code() == KafkaError._FATAL:
                raise ConsumerBroken(str(err))
            if err.code() != KafkaError._PARTITION_EOF:
                log.warning("consumer: %s", err)
            return
        partition, offset = msg.partition() or 0, msg.offset() or 0
        if partition not in self.positions:
            return  # revoked while it was in flight
        self.positions[partition] = offset + 1
        p.metrics.consumed.labels(p.topic).inc()
        headers = read_headers(msg)
        reason = p.filter.skip(headers)
        if reason is None and not p.defn.intake and p.runtime.knows(
                (msg.key() or b"").decode(errors="replace"), headers.get("event_id", b"").decode()):
            reason = "seen"
        if reason is not None:
            p.metrics.skipped.labels(reason).inc()
            return
        try:
            event = intake.decode(p, msg, headers)
        except codec.DecodeError as exc:
            if p.defn.intake:  # the ingestion topic is ours alone to dead-letter
                self.dead_letter(msg, headers, exc)
            else:  # no decider can read it: the projector, which reads every record, letters it
                p.metrics.skipped.labels("undecodable").inc()
            return
        try:
            step = p.runtime.handle(p.key_of(event), partition, event)
            if step is None:
                p.metrics.skipped.labels("duplicate").inc()
                return
            self.settle(step)
        except Exception as exc:  # a decider bug or an unstorable output: letter the input
            log.exception("deciding on %s %s failed", event.type, event.event_id)
            self.dead_letter(msg, headers, exc)

    def settle(self, step: Step) -> None:
        """Stamp, encode, fold and queue the outputs of `step`."""
        p = self.parts
        stamped = stamp(p.settings, p.me, step.outputs)
        encoded = {e.event_id: record(p.settings, e) for e in stamped}
        fresh = p.runtime.apply(step, stamped)
        for event in fresh:
            topic, key, value, headers = encoded[event.event_id]
            self.pending.records.append((topic, key, value, headers, -1))
            p.metrics.produced.labels(event.type).inc()
        self.pending.touched.add(step.key)
        self.pending.urgent = self.pending.urgent or bool(fresh)

    def dead_letter(self, msg: Message, headers: dict[str, bytes], error: BaseException) -> None:
        p = self.parts
        log.warning("dead-lettering %s[%s]@%s: %s", msg.topic(), msg.partition(), msg.offset(), error)
        extra = bus.dead_letter_headers(msg.topic() or "", msg.partition() or 0, msg.offset() or 0,
                                        error, p.group)
        self.pending.records.append((p.settings.dlq_topic, msg.key(), msg.value(),
                                     [*headers.items(), *extra], -1))
        self.pending.urgent = True
        p.metrics.dead.labels(msg.topic() or "").inc()

    # -- reports from executions, and time ---------------------------------------------
    def _reports(self) -> None:
        p = self.parts
        worker = p.worker
        while worker is not None:
            try:
                report = self.outbox.get_nowait()
            except queue.Empty:
                return
            if report.key not in p.runtime.entries:
                if isinstance(report, Result) and self.executions is not None:
                    self.executions.finished(report.started.event_id)
                continue  # finished meanwhile, or no longer ours
            match report:
                case Beat(key=key, started=started, seq=seq):
                    self.settle(p.runtime.outputs(key, [heartbeat(started, seq, p.me)]))
                case Result(key=key, started=started, outcome=outcome):
                    self.settle(p.runtime.outputs(key, worker.finish(p.runtime.state(key), started, outcome)))
                    self.pending.results.append(report)

    def _tick(self) -> None:
        if self.clock is None or not self.clock.due() or not self.clock.may_judge(self.positions):
            return
        runtime, now = self.parts.runtime, now_ms()
        for key in runtime.due_keys(now):
            step = runtime.react(key, Tick(now))
            if step.outputs:
                self.settle(step)
            else:
                runtime.reschedule(key, now)

    def _ends(self) -> dict[int, int]:
        topic = self.parts.topic
        return bus.end_offsets(self.consumer, topic, list(self.positions), timeout=2.0)

    def _client_error(self, error: KafkaError) -> None:
        """librdkafka retries on its own; say so once in a while, and tell the clock."""
        now = time.monotonic()
        if now - self.last_error_log >= 5.0:
            log.warning("kafka: %s", error)
            self.last_error_log = now
        if self.clock is not None and error.code() in (KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN):
            self.clock.broker_error()

    # -- commit ------------------------------------------------------------------------
    def _due(self) -> bool:
        since = time.monotonic() - self.last_commit
        return (self.pending.urgent or bool(self.rebuild.markers)
                or (bool(self.parts.runtime.dirty) and since >= LAZY_S)
                or (self.positions != self.committed and since >= IDLE_S))

    def commit(self) -> bool:
        """Commit what is pending; on abort, roll memory back to the last commit and re-read."""
        p, pending = self.parts, self.pending
        changes = [*self.rebuild.records(p), *rebalance.changelog_records(p)]
        offsets = [TopicPartition(p.topic, part, off) for part, off in self.positions.items()]
        if not (pending.records or changes or self.positions != self.committed):
            return True
        try:
            group = self.consumer.consumer_group_metadata()
            ok = self.txn.commit([*pending.records, *changes], offsets, group)
        except Fatal as exc:
            if exc.fenced:
                raise
            self.reset(str(exc), consumer=False)
            return False
        self.pending = Pending()
        p.metrics.transactions.labels("committed" if ok else "aborted").inc()
        if not ok:
            rebalance.rewind(self, pending)
            return False
        self.last_commit = time.monotonic()
        p.runtime.commit()
        self.rebuild.committed()
        self.committed = dict(self.positions)
        if self.executions is not None:
            for result in pending.results:
                self.executions.finished(result.started.event_id)
            for key in pending.touched:
                rebalance.run_claims(self, key)
        return True

    def _flow(self) -> None:
        """A worker stops reading while its queue of claims is full."""
        if self.executions is None:
            return
        full = self.executions.full
        if full != self.paused:
            assignment = self.consumer.assignment()
            (self.consumer.pause if full else self.consumer.resume)(assignment)
            self.paused = full
