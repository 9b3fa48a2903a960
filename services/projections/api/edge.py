"""Plain ASGI in front of the routes: refuse NUL bytes, wait for `?after=TOKEN`, measure.

Plain ASGI rather than a framework middleware: it runs on every request, so it is kept to
a few dictionary lookups.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs

import orjson
from prometheus_client import CollectorRegistry, Counter, Histogram

from orchestrator.core.position import Token
from services.projections.api.context import Context
from services.projections.waiting import REACHED, check

Scope = dict[str, Any]
Send = Any
AFTER_HEADER = b"x-orchestrator-after"


class Edge:
    def __init__(self, app: Any, ctx: Context, registry: CollectorRegistry) -> None:
        self.app, self.ctx = app, ctx
        self.requests = Counter("orchestrator_api_requests", "HTTP requests",
                                ["method", "route", "status"], registry=registry)
        self.latency = Histogram("orchestrator_api_request_seconds", "HTTP request latency, until the "
                                 "response is sent", ["method", "route"], registry=registry,
                                 buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                          2.5, 5, 10, 30))
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Any, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        query: bytes = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query or "\x00" in scope["path"]:
            # PostgreSQL text cannot hold NUL: refuse it here rather than fail in the query
            await answer(sending, 422, {"detail": "NUL byte in the request"})
        elif scope["method"] != "GET" or not self._may_wait(scope) or not await self._waited(scope, sending):
            await self.app(scope, receive, sending)
        self._observe(scope, status[0], time.perf_counter() - started)

    def _may_wait(self, scope: Scope) -> bool:
        """No wait for a request without credentials: the route answers it 401 at once."""
        if self.ctx.settings.api_auth == "off":
            return True
        return any(name == b"authorization" for name, _ in scope.get("headers", ()))

    async def _waited(self, scope: Scope, send: Send) -> bool:
        """Wait for a position token if the read has one. True when it answered (422, 504)."""
        text = _after(scope)
        if text is None:
            return False
        try:
            token = Token.decode(text)
        except ValueError as exc:
            await answer(send, 422, {"detail": str(exc)})
            return True
        query, params = check(token)

        async def projected() -> bool:
            row = await self.ctx.one(query, params)
            return bool(row and row[0])

        if await self.ctx.waiter().until(projected, self.ctx.settings.after_timeout_ms / 1000):
            return False
        async with self.ctx.db() as conn:
            reached = await (await conn.execute(REACHED, [self.ctx.settings.events_topic])).fetchall()
        await answer(send, 504, {"detail": "the projection has not shown this write yet",
                                 "position": text, "reached": {str(p): o for p, o in reached}})
        return True

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", "unmatched")
        key = (scope["method"], route, status)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = (self.requests.labels(key[0], route, str(status)),
                                           self.latency.labels(key[0], route))
        found[0].inc()
        found[1].observe(seconds)


def _after(scope: Scope) -> str | None:
    query: bytes = scope.get("query_string", b"")
    if b"after=" in query:
        found = parse_qs(query.decode("latin-1")).get("after")
        if found:
            return found[-1]
    for name, value in scope.get("headers", ()):
        if name == AFTER_HEADER:
            return str(value.decode("latin-1"))
    return None


async def answer(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = orjson.dumps(body)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})
