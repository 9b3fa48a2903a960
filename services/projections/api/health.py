"""`/healthz`, `/readyz` (PostgreSQL and Kafka reachable) and `/metrics`."""

from __future__ import annotations

from confluent_kafka.admin import AdminClient
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from orchestrator.adapters import bus
from services.projections import views
from services.projections.api import auth
from services.projections.api.context import context

router = APIRouter()


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    ctx = context(request)
    checks = {"postgres": "ok", "kafka": "ok"}
    try:  # a fresh connection: the pool would wait out its timeout on a dead database
        with views.connect(ctx.dsn, ctx.schema, autocommit=True, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any failure means not ready; the reason is reported
        checks["postgres"] = str(exc)
    try:
        AdminClient(bus.client_config(ctx.settings)).list_topics(timeout=3)
    except Exception as exc:  # as above
        checks["kafka"] = str(exc)
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(checks, status_code=200 if ready else 503)


TASKS_BY_STATUS = "SELECT status, count(*) FROM tasks GROUP BY status"


@router.get("/metrics", dependencies=[auth.METRICS])
async def metrics(request: Request) -> Response:
    # the API's own metrics, and the read model's tasks by status as of this scrape
    async with context(request).db() as conn:
        rows = await (await conn.execute(TASKS_BY_STATUS)).fetchall()
    tasks = request.app.state.tasks
    tasks.clear()
    for status, count in rows:
        tasks.labels(status).set(count)
    return Response(generate_latest(request.app.state.registry), media_type=CONTENT_TYPE_LATEST)
