"""Fixtures of the reliability battery and the figures it reports.

Each fault test records one row of figures; at the end of the session the rows are written
as JSON to $ORCH_RELIABILITY_FIGURES (default .run/reliability/figures.json), which
`scripts/reliability.py` (`make reliability`) turns into reliability/latest.md.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.adapters import kafka_topics
from orchestrator.adapters import stack as local_stack
from orchestrator.adapters.config import Settings
from orchestrator.entrypoints import demo

from . import harness

REPO = Path(__file__).resolve().parents[2]
FIGURES: list[dict[str, Any]] = []


def record(row: dict[str, Any]) -> None:
    FIGURES.append(row)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not FIGURES:
        return
    out = Path(os.environ.get("ORCH_RELIABILITY_FIGURES", REPO / ".run" / "reliability" / "figures.json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    previous = []
    if os.environ.get("ORCH_RELIABILITY_APPEND") == "1" and out.is_file():
        previous = json.loads(out.read_text())
    out.write_text(json.dumps(previous + FIGURES, indent=2) + "\n")


STACK = Settings(run_dir=REPO / ".run" / "reliability" / "stack")


@pytest.fixture(scope="session")
def rel_base() -> Settings:
    """The battery's own stack settings (its state file), for stopping/starting its parts."""
    return STACK


@pytest.fixture(scope="session")
def rel_stack() -> Iterator[Settings]:
    """A Kafka broker and a PostgreSQL of the battery's own, unless given by the environment.

    Own, so a fault here never touches the session stack other tests share, and another
    run stopping the shared stack never breaks a long fault run.
    """
    update: dict[str, Any] = {}
    started: list[str] = []  # only what this session started is stopped at its end
    running = local_stack.status(STACK)
    try:
        if not os.environ.get("ORCH_KAFKA_BOOTSTRAP"):
            if not running["kafka"]["running"]:
                started.append("kafka")
            update["kafka_bootstrap"] = local_stack.start_kafka(STACK)["bootstrap"]
        if not os.environ.get("ORCH_DATABASE_URL"):
            if not running["postgres"]["running"]:
                started.append("postgres")
            update["database_url"] = local_stack.start_postgres(STACK)["url"]
        yield Settings().model_copy(update=update)
    finally:
        if "kafka" in started:
            local_stack.stop_kafka(STACK)
        if "postgres" in started:
            local_stack.stop_postgres(STACK)


@pytest.fixture
def settings(rel_stack: Settings) -> Settings:
    """Fresh topic prefix per test on the battery's broker."""
    return rel_stack.model_copy(update={"topic_prefix": f"r-{uuid.uuid4().hex[:12]}"})


def isolated(settings: Settings, **update: Any) -> Settings:
    return settings.model_copy(update={
        "run_dir": REPO / ".run" / "reliability" / settings.topic_prefix, **update})


def projection_schema(settings: Settings) -> str:
    """The test's own projection schema, named after its topic prefix."""
    return "rel_" + settings.topic_prefix.replace("-", "_").lower()


@pytest.fixture
def rel_settings(settings: Settings) -> Settings:
    s = isolated(settings)
    kafka_topics.provision(s)
    return s


@pytest.fixture
def fleet(rel_settings: Settings) -> Iterator[demo.Fleet]:
    f = demo.Fleet(rel_settings, env={"ORCH_PROJECTION_SCHEMA": projection_schema(rel_settings)})
    yield f
    f.stop()


@pytest.fixture
def ledger(rel_settings: Settings) -> Iterator[harness.Ledger]:
    led = harness.Ledger(rel_settings)
    yield led
    led.close()
