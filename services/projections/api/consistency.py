"""Read-your-writes in the API: reads with `?after=TOKEN` wait, woken by the projector's
NOTIFY after each commit, at most `ORCH_AFTER_TIMEOUT_MS` (what each token waits for:
`services/projections/waiting.py`).

Neither write the API takes lands on the events topic the projector reads (`POST /specs`
goes to the specs topic, a verdict to the callbacks topic), so an offset alone cannot say
when the read model has it: the token carries where the write landed (reported back on a
timeout) and what the read model shows once it has been projected.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg

from services.projections import waiting, writes


class Projected:
    """Wakes readers whenever the projector commits (LISTEN on its channel)."""

    RECHECK = waiting.RECHECK

    def __init__(self, dsn: str, schema: str, connect: dict[str, Any]) -> None:
        self.dsn, self.channel, self.connect = dsn, writes.channel(schema), connect
        self._tick = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _listen(self) -> None:
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self.dsn, **self.connect)
                async with conn:
                    await conn.execute(f"LISTEN {self.channel}")
                    self._wake()  # anything committed while no one listened
                    async for _ in conn.notifies():
                        self._wake()
            except psycopg.OperationalError:
                await asyncio.sleep(self.RECHECK)

    def _wake(self) -> None:
        tick, self._tick = self._tick, asyncio.Event()
        tick.set()

    async def until(self, done: Callable[[], Awaitable[bool]], timeout: float) -> bool:
        """True as soon as `done()` is, False after `timeout` seconds."""
        if self._task is None:
            self._task = asyncio.create_task(self._listen())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            tick = self._tick
            if await done():
                return True
            left = deadline - loop.time()
            if left <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tick.wait(), min(left, self.RECHECK))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
