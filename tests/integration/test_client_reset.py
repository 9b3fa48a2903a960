"""A new producer whose restore fails (the broker went away again mid-reset) must not crash the
service: the consumer is replaced too, and the partitions are restored by the new one.
(Seen in the broker-restart battery: the reset sought partitions the failed restore never
restored, and the service exited with 70.)"""

from __future__ import annotations

import time
from importlib import import_module

import pytest

from orchestrator.adapters import kafka_topics
from orchestrator.adapters.config import Settings
from orchestrator.shell import clients, restore
from orchestrator.shell.loop import Loop
from orchestrator.shell.parts import Parts
from orchestrator.shell.service import ensure_changelog


def joined(loop: Loop, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not loop.positions and time.monotonic() < deadline:
        loop.step()
    assert loop.positions, "the loop never got its partitions"


def test_a_reset_whose_restore_fails_replaces_the_consumer_and_restores_again(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    kafka_topics.provision(settings)
    parts = Parts(import_module("services.cto.main").definition(), "all", settings)
    ensure_changelog(parts)
    loop = Loop(parts)
    try:
        joined(loop)
        held = sorted(loop.positions)
        real = restore.restore
        calls: list[int] = []

        def broker_gone_once(*args: object, **kwargs: object) -> restore.Restored:
            calls.append(1)
            if len(calls) == 1:
                raise TimeoutError("Failed to get committed offsets: Local: Timed out")
            return real(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(restore, "restore", broker_gone_once)
        clients.reset(loop, "a transactional call did not return within 6s", new_consumer=False)
        assert loop.positions == {} and loop.broken is not None  # nothing restored, and it says so
        old = loop.consumer
        loop.stopping = False
        deadline = time.monotonic() + 60.0
        while sorted(loop.positions) != held and time.monotonic() < deadline:
            try:
                loop.step()
            except Exception as exc:  # what Loop.run does with a broken consumer
                assert type(exc).__name__ == "ConsumerBroken", exc
                clients.reset(loop, str(exc), new_consumer=True)
        assert loop.consumer is not old
        assert sorted(loop.positions) == held and len(calls) >= 2
    finally:
        loop.stopping = True
        loop.consumer.close()
        loop.txn.close()
