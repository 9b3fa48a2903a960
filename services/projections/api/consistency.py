"""Read-your-writes: a write answers with a position token; a read given it waits until the
projection shows that write.

Neither write the API takes lands on the events topic the projector reads (`POST /specs`
goes to the specs topic, a verdict to the callbacks topic), so an offset alone cannot say
when the read model has it. A token therefore names where the write landed (topic,
partition, offset: reported back on a timeout) and what the read model shows once the
write has been projected:
- a submission: SPEC's answer to its request id (`project.created` or `spec.rejected`);
- a verdict: its claim (task, attempt, round) settled, or a later claim of the task.
Readers are woken by the projector's NOTIFY after each commit; they wait at most
`ORCH_AFTER_TIMEOUT_MS`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
import psycopg

from services.projections import writes

SUBMISSION = ("SELECT EXISTS (SELECT 1 FROM events WHERE request_id = %s "
              "AND type IN ('project.created', 'spec.rejected'))")
VERDICT = ("SELECT EXISTS (SELECT 1 FROM tasks WHERE task_id = %s AND ((attempt, round) > (%s, %s) "
           "OR (attempt, round) = (%s, %s) AND status <> 'started'))")
REACHED = "SELECT partition, next_offset FROM positions WHERE topic = %s ORDER BY partition"


@dataclass(frozen=True)
class Token:
    topic: str
    partition: int
    offset: int
    request_id: str | None = None  # a submission
    task: tuple[str, int, int] | None = None  # a verdict: (task id, attempt, round)

    def encode(self) -> str:
        body = {"t": self.topic, "p": self.partition, "o": self.offset, "r": self.request_id,
                "k": list(self.task) if self.task else None}
        return base64.urlsafe_b64encode(orjson.dumps(body)).decode().rstrip("=")

    @staticmethod
    def decode(text: str) -> Token:
        """Raises ValueError for anything that is not a token."""
        try:
            body = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            task = body["k"]
            token = Token(str(body["t"]), int(body["p"]), int(body["o"]), body["r"],
                          None if task is None else (str(task[0]), int(task[1]), int(task[2])))
        except (binascii.Error, orjson.JSONDecodeError, KeyError, TypeError, IndexError) as exc:
            raise ValueError("malformed position token") from exc
        if (token.request_id is None) == (token.task is None) or not (
                token.request_id is None or isinstance(token.request_id, str)):
            raise ValueError("malformed position token")
        return token

    def check(self) -> tuple[str, list[Any]]:
        """The statement that answers whether the projection shows this write."""
        if self.task is not None:
            task, attempt, round_ = self.task
            return VERDICT, [task, attempt, round_, attempt, round_]
        return SUBMISSION, [self.request_id]


class Projected:
    """Wakes readers whenever the projector commits (LISTEN on its channel)."""

    RECHECK = 1.0  # seconds: a reader rechecks at least this often (a listener that lost its connection)

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
