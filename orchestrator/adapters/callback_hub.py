"""The waiting side of the callbacks channel: one consumer thread per process, many waiters.

It reads `<prefix>.callbacks` from the beginning (no consumer group), keeps the first
verdict per (task, attempt, round) and wakes the runner waiting for it, so a verdict given
while the worker was down is found when the restarted worker runs the claim again.
"""

from __future__ import annotations

import asyncio
import threading

from confluent_kafka import Consumer, TopicPartition

from orchestrator.adapters.bus import client_config
from orchestrator.adapters.callbacks import Verdict, ensure_topic, topic
from orchestrator.adapters.config import Settings


class Hub:
    """Reads the callbacks topic from the beginning and wakes whoever waits for a key."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.seen: dict[tuple[str, int, int], Verdict] = {}
        self.waiters: dict[tuple[str, int, int], list[tuple[asyncio.AbstractEventLoop,
                                                            asyncio.Future[Verdict]]]] = {}
        self.guard = threading.Lock()
        self.stopping = threading.Event()
        ensure_topic(settings)
        self.thread = threading.Thread(target=self._run, name="callbacks-hub", daemon=True)
        self.thread.start()

    async def wait(self, task_id: str, attempt: int, round: int) -> Verdict:
        key = (task_id, attempt, round)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Verdict] = loop.create_future()
        with self.guard:
            found = self.seen.get(key)
            if found is None:
                self.waiters.setdefault(key, []).append((loop, future))
        if found is not None:
            return found
        try:
            return await future
        finally:
            with self.guard:
                left = [w for w in self.waiters.get(key, []) if w[1] is not future]
                if left:
                    self.waiters[key] = left
                else:
                    self.waiters.pop(key, None)

    def _run(self) -> None:
        consumer = Consumer(client_config(self.settings, **{
            "group.id": f"{self.settings.topic_prefix}-callbacks-unused",
            "enable.auto.commit": False, "auto.offset.reset": "earliest"}))
        try:
            consumer.assign([TopicPartition(topic(self.settings), 0, 0)])
            while not self.stopping.is_set():
                msg = consumer.poll(0.5)
                if msg is None or msg.error():
                    continue
                try:
                    verdict = Verdict.decode(msg.value() or b"")
                except (ValueError, KeyError, TypeError):
                    continue
                self._settle(verdict)
        finally:
            consumer.close()

    def _settle(self, verdict: Verdict) -> None:
        with self.guard:
            if verdict.key in self.seen:  # the first verdict of a claim wins
                return
            self.seen[verdict.key] = verdict
            waiting = self.waiters.pop(verdict.key, [])
        for loop, future in waiting:
            loop.call_soon_threadsafe(_resolve, future, verdict)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)


def _resolve(future: asyncio.Future[Verdict], verdict: Verdict) -> None:
    if not future.done():
        future.set_result(verdict)


_hubs: dict[tuple[str, str], Hub] = {}
_hubs_guard = threading.Lock()


def hub(settings: Settings) -> Hub:
    """The process's hub for these servers and topic prefix (started on first use)."""
    key = (settings.bootstrap, topic(settings))
    with _hubs_guard:
        if key not in _hubs:
            _hubs[key] = Hub(settings)
        return _hubs[key]


def stop_hubs() -> None:
    """Stop every hub of this process (tests; a service's daemon thread ends with it)."""
    with _hubs_guard:
        found = list(_hubs.values())
        _hubs.clear()
    for one in found:
        one.stop()
