"""The query API: read models over HTTP, plus the writes (`POST /specs`, verdicts).

Routes are plain functions in one module per resource; what they share (settings, the read
pool, the publisher) is the `Context` on the app. In front of them, plain ASGI (`edge`).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Gauge
from starlette.exceptions import HTTPException

from orchestrator.adapters import config
from orchestrator.adapters.config import Settings
from services.projections import views
from services.projections.api import (
    alerts,
    chain,
    control,
    dashboard,
    delivery,
    health,
    live,
    org,
    pages,
    projects,
    requests,
    session,
    specs,
    tasks,
    tokens,
    traceability,
)
from services.projections.api.context import Context
from services.projections.api.edge import Edge
from services.projections.main import reader_dsn


def create_app(settings: Settings, dsn: str | None = None, schema: str = views.LIVE_SCHEMA) -> Any:
    """`dsn` is where reads go (the reader role's URL when there is one). Returns the ASGI app."""
    ctx = Context(settings, dsn or settings.dsn, views.check_schema(schema))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await ctx.open()
        try:
            yield
        finally:
            await ctx.close()

    app = FastAPI(title="Delivery orchestrator query API", version="1", lifespan=lifespan)
    app.state.context = ctx
    app.state.registry = CollectorRegistry()
    app.state.tasks = Gauge("orchestrator_tasks", "Tasks in the read model by status, at the scrape",
                            ["status"], registry=app.state.registry)
    for router in (health.router, projects.router, chain.router, traceability.router, tasks.router,
                   requests.router, alerts.router, delivery.router, specs.router, tasks.writes,
                   control.router, tokens.router, org.router, session.router, dashboard.router,
                   live.router):
        # the routes themselves, not the router: an included router is matched as one more layer
        app.router.routes.extend(router.routes)
    app.add_exception_handler(HTTPException, pages.errors)
    return Edge(app, ctx, app.state.registry)


def from_environment() -> Any:
    """The app `orchestrator service api` runs, in each of its processes."""
    settings = config.load()
    schema = os.environ.get("ORCH_PROJECTION_SCHEMA", views.LIVE_SCHEMA)
    return create_app(settings, reader_dsn(settings), schema)
