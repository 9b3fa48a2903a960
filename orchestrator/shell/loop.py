"""The record path: consume a batch, decide, and commit outputs, states and offsets at once.

Per batch (a first record, then whatever else is already fetched, at most `BATCH`):
skip by header what the decider does not react to, decode, let the Runtime decide, stamp
and fold the outputs. Worker heartbeats and results and the Monitor's ticks join the
same pending transaction (workers.drain, clock.tick); commit.py says when it commits,
clients.py what happens when a client breaks, rebalance.py when partitions move, progress.py
the lag and the flow control, intake.py what a record decodes to (or its dead letter).
"""

from __future__ import annotations

import logging
import queue
import time

from confluent_kafka import KafkaError, Message

from orchestrator.adapters import kafka_topics
from orchestrator.core import codec
from orchestrator.shell import clients, clock, commit, intake, progress, rebalance, workers
from orchestrator.shell.headers import read_headers
from orchestrator.shell.parts import Parts
from orchestrator.shell.runtime import Step
from orchestrator.shell.stamp import record, stamp
from orchestrator.shell.txn import Pending

log = logging.getLogger("orchestrator.loop")
BATCH = 500
LAG_EVERY_S = 1.0


class ConsumerBroken(RuntimeError):
    """The consumer reported a fatal error (e.g. a static member fenced after a broker restart)."""


class Loop:
    def __init__(self, parts: Parts) -> None:
        self.parts = parts
        self.last_error_log = 0.0
        self.clock = clock.Clock(parts.defn.tick_ms, self.ends) if parts.defn.tick_ms else None
        self.outbox: queue.SimpleQueue[workers.Report] = queue.SimpleQueue()
        self.executions = (workers.Executions(parts.settings, self.outbox, parts.metrics)
                           if parts.worker else None)
        self.positions: dict[int, int] = {}  # partition -> next offset to read and commit
        self.committed: dict[int, int] = {}  # what the last commit stored
        self.pending = Pending()
        self.rebuild = rebalance.Rebuild()
        self.resets: list[float] = []
        self.last_commit = self.last_markers = self.last_lag = time.monotonic()
        self.lagging: set[int] = set()  # partitions whose lag is reported
        self.joined = self.paused = self.stopping = False
        self.broken: str | None = None  # set by a rebalance callback that could not finish
        self.idle_wait = 0.001
        self.consumer = clients.consumer(self)
        self.txn = clients.transactions(self)

    def run(self) -> None:
        try:
            while not self.stopping:
                try:
                    self.step()
                except ConsumerBroken as exc:
                    clients.reset(self, str(exc))
            commit.commit(self)
        finally:
            if self.executions is not None:
                self.executions.close()
            self.consumer.close()
            self.txn.close()
            if self.parts.spans is not None:
                self.parts.spans.close()

    def step(self) -> None:
        first = self.consumer.poll(self._wait())
        if self.broken is not None:  # raised here: an exception inside poll's callback is mangled
            why, self.broken = self.broken, None
            raise ConsumerBroken(why)
        batch = [first, *self.consumer.consume(BATCH - 1, 0)] if first is not None else []
        if batch:
            self.parts.metrics.batch.observe(len(batch))
            self.idle_wait = 0.001
        else:
            progress.past_markers(self)
        for msg in batch:
            self.on_record(msg)
        workers.drain(self)
        clock.tick(self)
        if commit.due(self):
            commit.commit(self)
        progress.flow(self)
        self.parts.metrics.live.set(len(self.parts.runtime.entries))
        if time.monotonic() - self.last_lag >= LAG_EVERY_S:
            progress.report_lag(self)
            self.parts.metrics.alive.set_to_current_time()

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
                intake.dead_letter(self, msg, headers, exc)
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
            intake.dead_letter(self, msg, headers, exc)

    def settle(self, step: Step) -> None:
        """Stamp, encode, fold and queue the outputs of `step`."""
        p = self.parts
        stamped = stamp(p.settings, p.me, step.outputs)
        encoded = {e.event_id: record(p.settings, e) for e in stamped}
        fresh = p.runtime.apply(step, stamped)
        if fresh:
            decided = {e.event_id: e for e in step.outputs}
            hops = [(decided[e.event_id], e) for e in fresh]
            p.metrics.hops(hops)
            if p.spans is not None:
                p.spans.hops(hops, p.span_attributes)
        for event in fresh:
            topic, key, value, headers = encoded[event.event_id]
            self.pending.records.append((topic, key, value, headers, -1))
            p.metrics.produced.labels(event.type).inc()
        self.pending.touched.add(step.key)
        self.pending.urgent = self.pending.urgent or bool(fresh)

    def ends(self) -> dict[int, int]:
        """The end offset of each partition held, asked of the broker."""
        return kafka_topics.end_offsets(self.consumer, self.parts.topic, list(self.positions), timeout=2.0)

    def _wait(self) -> float:
        """How long the next poll may block: results, ticks and lazy commits must not wait."""
        if not self.outbox.empty():
            return 0.0
        waits = [0.2]
        since = time.monotonic() - self.last_commit
        if self.parts.runtime.dirty:
            waits.append(max(commit.LAZY_S - since, 0.0))
        elif self.positions != self.committed:
            waits.append(max(commit.IDLE_S - since, 0.0))
        if self.clock is not None:
            waits.append(self.clock.seconds_to_tick())
        if self.executions is not None and self.executions.running:
            waits.append(self.idle_wait)  # a result cannot wake the poll: look again soon
            self.idle_wait = min(self.idle_wait * 2, 0.05)
        return min(waits)

