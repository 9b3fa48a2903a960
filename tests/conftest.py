"""Shared fixtures. Only tests that ask for `stack` (directly or via `settings`) touch servers.

Where Kafka and PostgreSQL come from, first match wins:
- ORCH_KAFKA_BOOTSTRAP and ORCH_DATABASE_URL set: those, untouched;
- ORCH_TESTCONTAINERS=1: throwaway containers (needs a Docker engine);
- otherwise the local stack, started once per run under .run/pytest and stopped at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from orchestrator import bus, demo
from orchestrator import stack as local_stack
from orchestrator.config import Settings

REPO = Path(__file__).resolve().parents[1]


def _from_containers(exits: ExitStack) -> Settings:
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.community.postgres import PostgresContainer

    kafka = exits.enter_context(KafkaContainer().with_kraft())
    pg = exits.enter_context(PostgresContainer("postgres:15", driver=None))
    return Settings(
        kafka_bootstrap=kafka.get_bootstrap_server(), database_url=pg.get_connection_url()
    )


@pytest.fixture(scope="session")
def stack() -> Iterator[Settings]:
    """Settings pointing at a real Kafka broker and PostgreSQL for the whole test run."""
    if os.environ.get("ORCH_KAFKA_BOOTSTRAP") and os.environ.get("ORCH_DATABASE_URL"):
        yield Settings()
        return
    if os.environ.get("ORCH_TESTCONTAINERS") == "1":
        with ExitStack() as exits:
            yield _from_containers(exits)
        return
    base = Settings(run_dir=REPO / ".run" / "pytest")
    started = local_stack.up(base)
    try:
        yield base.model_copy(
            update={"kafka_bootstrap": base.bootstrap, "database_url": base.dsn}
        )
    finally:  # stop only what this run started, not a stack someone left running
        if started.get("kafka", {}).get("action") == "started":
            local_stack.stop_kafka(base)
        if started.get("postgres", {}).get("action") == "started":
            local_stack.stop_postgres(base)


@pytest.fixture
def settings(stack: Settings) -> Settings:
    """The stack's settings with a fresh topic prefix: tests never share topics or groups."""
    return stack.model_copy(update={"topic_prefix": f"t-{uuid.uuid4().hex[:12]}"})


@pytest.fixture
def kafka_admin(stack: Settings) -> AdminClient:
    return AdminClient({"bootstrap.servers": stack.bootstrap})


@pytest.fixture
def fleet(settings: Settings) -> Iterator[demo.Fleet]:
    """Fresh topics and a run dir of their own; every service the test starts is stopped."""
    isolated = settings.model_copy(update={"run_dir": REPO / ".run" / "fleets" / settings.topic_prefix})
    bus.provision(isolated)
    started = demo.Fleet(isolated)
    yield started
    started.stop()


@pytest.fixture
def api_headers(settings: Settings) -> dict[str, str]:
    """An Authorization header holding a fresh token with every scope, tenant `default`, in the
    database of the test's `settings` (the reliability battery has a stack of its own)."""
    from orchestrator import tokens

    token = tokens.create(settings.dsn, ["default"], list(tokens.SCOPES), "tests")
    return {"Authorization": f"Bearer {token}"}
