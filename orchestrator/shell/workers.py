"""Running a worker's claims: executors on an asyncio loop of their own, off the Kafka loop.

At most `ORCH_WORKER_CONCURRENCY` executions run at once; claims beyond that wait their
turn, heartbeating (a claim is this instance's promise), and the Kafka loop stops reading
while the queue is full. Heartbeats and results travel back through the outbox; the Kafka
loop folds and produces them in its next transaction, so no transaction stays open while
an executor runs, and a zombie's results are fenced with the rest of its transaction.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from orchestrator.adapters import executors
from orchestrator.adapters.config import Settings
from orchestrator.core.envelope import Event
from orchestrator.core.worker.reports import heartbeat, lease_of, usage
from orchestrator.core.worker.work import Outcome, Work
from orchestrator.shell.metrics import Metrics

if TYPE_CHECKING:
    from orchestrator.shell.loop import Loop

log = logging.getLogger("orchestrator.workers")


@dataclass(frozen=True)
class Beat:
    key: str
    started: Event
    seq: int


@dataclass(frozen=True)
class Result:
    key: str
    started: Event
    outcome: Outcome


Report = Beat | Result


class Executions:
    def __init__(self, settings: Settings, outbox: queue.SimpleQueue[Report], metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.outbox = outbox
        self.limit = settings.worker_concurrency
        self.running: dict[str, tuple[str, int, concurrent.futures.Future[None]]] = {}
        self.runs: dict[str, executors.Run] = {}  # by claim: marked stopped before a cancel
        self.loop = asyncio.new_event_loop()
        self.slots = asyncio.Semaphore(self.limit)
        threading.Thread(target=self.loop.run_forever, daemon=True, name="executions").start()

    @property
    def full(self) -> bool:
        return len(self.running) >= self.limit

    def sync(self, key: str, partition: int, claims: list[Event], work_of: Callable[[Event], Work]) -> None:
        """Run `claims` of `key` that are not running; cancel its runs no longer claimed."""
        wanted = {c.event_id for c in claims}
        for claim_id, (k, _, future) in list(self.running.items()):
            if k == key and claim_id not in wanted:
                if (run := self.runs.pop(claim_id, None)) is not None:
                    run.stopped = True  # for good: an executor may tell its agent (executors.stopped)
                future.cancel()
                del self.running[claim_id]
        for claim in claims:
            if claim.event_id not in self.running:
                run = self.runs[claim.event_id] = executors.Run()
                coroutine = self._execute(key, claim, work_of(claim), run)
                future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
                self.running[claim.event_id] = (key, partition, future)

    def finished(self, claim_id: str) -> None:
        self.running.pop(claim_id, None)
        self.runs.pop(claim_id, None)

    def forget(self, partitions: set[int]) -> None:
        """Cancel the runs of partitions this instance lost: their new owner resumes them."""
        for claim_id, (_, partition, future) in list(self.running.items()):
            if partition in partitions:
                future.cancel()
                del self.running[claim_id]
                self.runs.pop(claim_id, None)

    def close(self) -> None:
        self.forget({p for _, p, _ in self.running.values()})
        self.loop.call_soon_threadsafe(self.loop.stop)

    async def _execute(self, key: str, started: Event, work: Work, run: executors.Run) -> None:
        executors.RUN.set(run)  # this task's own context: the runner reads it when cancelled
        beats = asyncio.create_task(self._heartbeat(key, started))
        began, how = time.monotonic(), "crashed"
        try:
            async with self.slots:
                began = time.monotonic()
                outcome = await executors.runner_for(work.executor, self.settings).run(work)
                how = "succeeded" if outcome.ok else "failed"
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # an executor bug is the task's failure, not the worker's
            log.exception("executor of %s failed", work.task_id)
            outcome = Outcome(False, f"executor crashed: {exc!r}")
        finally:
            beats.cancel()
        self.metrics.execution.labels(work.executor.kind, how).observe(time.monotonic() - began)
        if not outcome.usage.seconds:  # wall time of the run, unless the executor knows better
            spent = replace(outcome.usage, seconds=round(time.monotonic() - began, 3))
            outcome = replace(outcome, usage=spent)
        self.outbox.put(Result(key, started, outcome))

    async def _heartbeat(self, key: str, started: Event) -> None:
        every = max(lease_of(started) / 3000, 0.2)
        seq = 0
        while True:
            await asyncio.sleep(every)
            seq += 1
            self.outbox.put(Beat(key, started, seq))


def drain(loop: Loop) -> None:
    """Fold the heartbeats and results the executions reported since the last look."""
    p = loop.parts
    worker = p.worker
    while worker is not None:
        try:
            report = loop.outbox.get_nowait()
        except queue.Empty:
            return
        if report.key not in p.runtime.entries:
            if isinstance(report, Result) and loop.executions is not None:
                loop.executions.finished(report.started.event_id)
            continue  # finished meanwhile, or no longer ours
        match report:
            case Beat(key=key, started=started, seq=seq):
                loop.settle(p.runtime.outputs(key, [heartbeat(started, seq, p.me)]))
            case Result(key=key, started=started, outcome=outcome):
                results = worker.finish(p.runtime.state(key), started, outcome)
                # a live run's result comes with what it consumed (the Monitor's budgets)
                spent = [usage(started, outcome, p.me)] if results else []
                loop.settle(p.runtime.outputs(key, [*spent, *results]))
                loop.pending.results.append(report)
