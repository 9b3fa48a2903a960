"""The query API: read models over HTTP, plus `POST /specs` onto the ingestion topic."""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from typing import Any
from urllib.parse import unquote

import psycopg
from confluent_kafka.admin import AdminClient
from fastapi import FastAPI, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from psycopg_pool import ConnectionPool

from orchestrator import bus, client
from orchestrator.config import Settings
from services.projections import evidence, views
from services.projections.task_routes import add_task_routes

Limit = Query(50, ge=1, le=500)


def encode_cursor(key: list[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in key]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode()


def decode_cursor(cursor: str | None, size: int) -> list[Any] | None:
    if cursor is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error) as exc:
        raise HTTPException(422, "malformed cursor") from exc
    if not isinstance(key, list) or len(key) != size:
        raise HTTPException(422, "malformed cursor")
    return key


def page(rows: list[dict[str, Any]], limit: int, key: tuple[str, ...]) -> dict[str, Any]:
    last = rows[-1] if len(rows) == limit else None
    return {"items": rows, "next_cursor": encode_cursor([last[k] for k in key]) if last else None}


def create_app(settings: Settings, dsn: str | None = None, schema: str = views.LIVE_SCHEMA) -> FastAPI:
    """`dsn` is where reads go (the reader role's URL when there is one)."""
    read_dsn = dsn or settings.dsn
    publisher: list[bus.Publisher] = []
    pools: list[ConnectionPool[Any]] = []

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        for p in publisher:
            p.close()
        for pool in pools:
            pool.close()

    app = FastAPI(title="Delivery orchestrator query API", version="1", lifespan=lifespan)
    registry = CollectorRegistry()
    requests = Counter("api_requests", "HTTP requests", ["method", "route", "status"], registry=registry)
    latency = Histogram("api_request_seconds", "HTTP request latency", ["method", "route"],
                        registry=registry)
    @contextmanager
    def db() -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection: opening one per request costs more than most queries."""
        if not pools:
            options = f"-c search_path={views.check_schema(schema)}"
            pools.append(ConnectionPool(read_dsn, min_size=1, max_size=16, timeout=10,
                                        check=ConnectionPool.check_connection,
                                        kwargs={"autocommit": True, "options": options,
                                                "connect_timeout": 5}))
        with pools[0].connection() as conn:
            yield conn

    @app.middleware("http")
    async def measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        if "\x00" in unquote(request.url.query) or "\x00" in request.url.path:
            # PostgreSQL text cannot hold NUL: refuse it here rather than fail in the query
            response: Response = JSONResponse({"detail": "NUL byte in the request"}, status_code=422)
        else:
            response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        requests.labels(request.method, route, str(response.status_code)).inc()
        latency.labels(request.method, route).observe(time.perf_counter() - started)
        return response

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        checks = {"postgres": "ok", "kafka": "ok"}
        try:  # a fresh connection: the pool would wait out its timeout on a dead database
            with views.connect(read_dsn, schema, autocommit=True, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
        except Exception as exc:  # any failure means not ready; the reason is reported
            checks["postgres"] = str(exc)
        try:
            AdminClient({"bootstrap.servers": settings.bootstrap}).list_topics(timeout=3)
        except Exception as exc:  # as above
            checks["kafka"] = str(exc)
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse(checks, status_code=200 if ready else 503)

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/projects")
    def projects(limit: int = Limit, cursor: str | None = None) -> dict[str, Any]:
        with db() as conn:
            rows = views.list_projects(conn, limit, decode_cursor(cursor, 1))
        return page(rows, limit, ("project_id",))

    @app.get("/projects/{project_id}")
    def project(project_id: str) -> dict[str, Any]:
        with db() as conn:
            found = views.get_project(conn, project_id)
        if found is None:
            raise HTTPException(404, f"no project {project_id}")
        return found

    @app.get("/projects/{project_id}/tasks")
    def project_tasks(project_id: str, status: str | None = None, role: str | None = None,
                      area: str | None = None, limit: int = Limit,
                      cursor: str | None = None) -> dict[str, Any]:
        with db() as conn:
            if views.get_project(conn, project_id) is None:
                raise HTTPException(404, f"no project {project_id}")
            rows = views.list_tasks(conn, project_id, {"status": status, "role": role, "area": area},
                                    limit, decode_cursor(cursor, 1))
        return page(rows, limit, ("task_id",))

    @app.get("/projects/{project_id}/events")
    def project_events(project_id: str, limit: int = Limit, cursor: str | None = None) -> dict[str, Any]:
        with db() as conn:
            if views.get_project(conn, project_id) is None:
                raise HTTPException(404, f"no project {project_id}")
            rows = views.list_events(conn, project_id, limit, decode_cursor(cursor, 2))
        return page(rows, limit, ("partition", "offset"))

    @app.get("/tasks/{task_id:path}")
    def task(task_id: str) -> dict[str, Any]:
        with db() as conn:
            found = views.get_task(conn, task_id)
            if found is None:
                raise HTTPException(404, f"no task {task_id}")
            return {**found, "events": views.task_events(conn, task_id)}

    @app.get("/requests/{request_id}")
    def request_(request_id: str) -> dict[str, Any]:
        with db() as conn:
            events = views.request_events(conn, request_id)
            rejected = views.rejection(conn, request_id)
            if not events and rejected is None:
                raise HTTPException(404, f"no request {request_id}")
            return {"request_id": request_id, "events": events,
                    "tasks": evidence.by_task(events, views.request_tasks(conn, request_id)),
                    "rejection": rejected["errors"] if rejected else None}

    @app.get("/alerts")
    def alerts(project_id: str | None = None, severity: str | None = None, kind: str | None = None,
               limit: int = Limit, cursor: str | None = None) -> dict[str, Any]:
        with db() as conn:
            rows = views.list_alerts(conn, {"project_id": project_id, "severity": severity, "kind": kind},
                                     limit, decode_cursor(cursor, 2))
        return page(rows, limit, ("occurred_at", "event_id"))

    @app.post("/specs", status_code=202)
    async def submit(request: Request, filename: str | None = None) -> dict[str, str]:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > settings.max_spec_bytes:
            raise HTTPException(413, f"spec larger than {settings.max_spec_bytes} bytes")
        document = await request.body()
        if len(document) > settings.max_spec_bytes:
            raise HTTPException(413, f"spec larger than {settings.max_spec_bytes} bytes")
        if not document.strip():
            raise HTTPException(422, "empty spec")
        event = client.submission(document, filename)
        if not publisher:
            publisher.append(bus.Publisher(settings))
        await run_in_threadpool(publisher[0].publish_sync, [event])
        return {"request_id": event.request_id, "event_id": event.event_id}

    add_task_routes(app, settings, db)
    return app
