"""Shared fixtures. Only tests that ask for `stack` (directly or via `settings`) touch servers.

Where Kafka and PostgreSQL come from, first match wins:
- ORCH_KAFKA_BOOTSTRAP and ORCH_DATABASE_URL set: those, untouched;
- ORCH_TESTCONTAINERS=1: throwaway containers from the images built here (needs a Docker
  API: Docker, or podman's service as `make testcontainers-test` starts it);
- otherwise the local stack, started once per run under .run/pytest and stopped at the end.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from confluent_kafka.admin import AdminClient

from orchestrator.adapters import kafka_topics
from orchestrator.adapters import stack as local_stack
from orchestrator.adapters.config import Settings
from orchestrator.adapters.stack.proc import free_port
from orchestrator.entrypoints import demo

if TYPE_CHECKING:
    from testcontainers.core.container import DockerContainer

REPO = Path(__file__).resolve().parents[1]


KAFKA_IMAGE = os.environ.get("ORCH_TC_KAFKA_IMAGE", "localhost/delivery-orchestrator-kafka:4.3.1")
POSTGRES_IMAGE = os.environ.get("ORCH_TC_POSTGRES_IMAGE", "localhost/delivery-orchestrator-postgres:15")
READY_TIMEOUT = 120.0


def _container(exits: ExitStack, image: str, env: dict[str, str]) -> DockerContainer:
    """A started container on the host's network: it listens on 127.0.0.1 ports given in env."""
    from testcontainers.core.container import DockerContainer

    container = DockerContainer(image).with_kwargs(network_mode="host")
    for key, value in env.items():
        container.with_env(key, value)
    return exits.enter_context(container)


def _await(container: DockerContainer, what: str, ready: Callable[[], bool]) -> None:
    """Poll the server itself (a real request); fail with its log if it exits or never answers."""
    deadline = time.monotonic() + READY_TIMEOUT
    while not ready():
        wrapped = container.get_wrapped_container()
        wrapped.reload()
        if wrapped.status == "exited" or time.monotonic() > deadline:
            out, err = container.get_logs()
            raise RuntimeError(f"{what} container did not answer ({wrapped.status}):\n"
                               f"{(out + err).decode(errors='replace')[-3000:]}")
        time.sleep(0.5)


def _from_containers(exits: ExitStack) -> Settings:
    """Kafka and PostgreSQL from the images scripts/build-test-images.sh builds on the
    Debian base (`make testcontainers-test`), not upstream ones: what we test is what runs."""
    from orchestrator.adapters.stack import kafka, postgres

    ports: set[int] = set()
    while len(ports) < 3:  # distinct: nothing listens on them until the containers start
        ports.add(free_port())
    port, controller, pg_port = sorted(ports)
    broker = _container(exits, KAFKA_IMAGE,
                        {"KAFKA_PORT": str(port), "KAFKA_CONTROLLER_PORT": str(controller)})
    pg = _container(exits, POSTGRES_IMAGE, {"PGPORT": str(pg_port)})
    bootstrap = f"127.0.0.1:{port}"
    _await(broker, "Kafka", lambda: kafka.ready(bootstrap, timeout=2.0))
    _await(pg, "PostgreSQL",
           lambda: postgres.ready(f"postgresql://postgres@127.0.0.1:{pg_port}/postgres", 2.0))
    postgres.bootstrap(pg_port)
    return Settings(kafka_bootstrap=bootstrap,
                    database_url=f"postgresql://orchestrator@127.0.0.1:{pg_port}/orchestrator")


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
    """Fresh topics, a run dir and an API port of their own (never the default 8080, which two
    fleets started at once would both see free); every service the test starts is stopped."""
    isolated = settings.model_copy(update={"run_dir": REPO / ".run" / "fleets" / settings.topic_prefix,
                                           "api_port": free_port()})
    kafka_topics.provision(isolated)
    started = demo.Fleet(isolated)
    yield started
    started.stop()


@pytest.fixture
def api_headers(settings: Settings) -> dict[str, str]:
    """An Authorization header holding a fresh token with every scope, tenant `default`, in the
    database of the test's `settings` (the reliability battery has a stack of its own)."""
    from orchestrator.adapters import tokens

    token = tokens.create(settings.dsn, ["default"], list(tokens.SCOPES), "tests")
    return {"Authorization": f"Bearer {token}"}
