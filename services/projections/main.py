"""Entry points behind `orchestrator service projector|api`."""

from __future__ import annotations

import logging
import os

import psycopg

from orchestrator.adapters.config import Settings
from services.projections import projector, views


def reader_dsn(settings: Settings) -> str:
    """Reads go through the read-only role when one is known."""
    return (os.environ.get("ORCH_READER_DATABASE_URL")
            or settings.stack_state().get("postgres", {}).get("reader_url")
            or settings.dsn)


def run_projector(settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO)
    projector.run_forever(settings, os.environ.get("ORCH_PROJECTION_SCHEMA", views.LIVE_SCHEMA))


def run_api(settings: Settings) -> None:
    """`ORCH_API_WORKERS` processes (uvicorn workers), each building its app from the environment."""
    import uvicorn

    schema = os.environ.get("ORCH_PROJECTION_SCHEMA", views.LIVE_SCHEMA)
    try:  # readers must find the tables even before the projector has run
        views.migrate(settings.dsn, schema)
    except psycopg.errors.InsufficientPrivilege:
        logging.getLogger(__name__).info("read-only role: the projector creates the schema")
    uvicorn.run("services.projections.api:from_environment", factory=True,
                host=os.environ.get("ORCH_API_HOST", "127.0.0.1"), port=settings.api_port,
                workers=settings.api_workers, loop="uvloop", http="httptools",
                access_log=settings.api_access_log)
