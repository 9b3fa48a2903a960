"""What every route needs, kept on the app: settings, the read pool, the publisher, the waiter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from fastapi import Request
from psycopg_pool import AsyncConnectionPool

from orchestrator.adapters import bus
from orchestrator.adapters.config import Settings
from services.projections import views
from services.projections.api.consistency import Projected


@dataclass
class Context:
    settings: Settings
    dsn: str  # where reads go (the reader role's URL when there is one)
    schema: str
    pool: AsyncConnectionPool[Any] | None = None  # opened by the app's lifespan
    projected: Projected | None = None
    publishers: list[bus.Publisher] = field(default_factory=list)

    def connect_kwargs(self) -> dict[str, Any]:
        return {"autocommit": True, "options": views.options(self.schema), "connect_timeout": 5}

    async def open(self) -> None:
        """No `check` on checkout: a broken connection fails its query and the pool replaces it.
        A few connections: more only queue in PostgreSQL on these cores (4 beat 16 and 50 here)."""
        self.pool = AsyncConnectionPool(self.dsn, min_size=4, max_size=8, timeout=10, open=False,
                                        kwargs=self.connect_kwargs())
        await self.pool.open()

    async def close(self) -> None:
        if self.projected is not None:
            await self.projected.close()
        if self.pool is not None:
            await self.pool.close()
        for publisher in self.publishers:
            publisher.close()

    @asynccontextmanager
    async def db(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A pooled connection; without the lifespan (a bare test client) a fresh one."""
        if self.pool is not None:
            async with self.pool.connection() as conn:
                yield conn
        else:
            async with await psycopg.AsyncConnection.connect(self.dsn, **self.connect_kwargs()) as conn:
                yield conn

    async def one(self, query: str, params: list[Any]) -> tuple[Any, ...] | None:
        """The first row of one statement."""
        async with self.db() as conn:
            cur = await conn.execute(query, params)
            return await cur.fetchone()

    def waiter(self) -> Projected:
        if self.projected is None:
            self.projected = Projected(self.dsn, self.schema, self.connect_kwargs())
        return self.projected

    def publisher(self) -> bus.Publisher:
        if not self.publishers:
            self.publishers.append(bus.Publisher(self.settings))
        return self.publishers[0]


def context(request: Request) -> Context:
    found: Context = request.app.state.context
    return found
