"""The header filter: a service skips other areas' records unread, except the types its
definition declares it reads from every area (the Monitor's `task.usage`, for the
project budget)."""

from __future__ import annotations

from orchestrator.adapters.config import Settings
from orchestrator.core import codec
from orchestrator.core.envelope import Actor, Event
from orchestrator.core.events import Payload, Role, TaskCompleted, TaskUsage
from orchestrator.shell.headers import Filter
from orchestrator.shell.parts import Parts
from services.dev.main import definition as dev_definition
from services.monitor.main import definition as monitor_definition

S = Settings(kafka_bootstrap="127.0.0.1:9092", topic_prefix="acme")


def headers_of(payload: Payload) -> dict[str, bytes]:
    event = Event("e-1", "shop-0a1b2c3d", "req-1", None, 0, Actor(Role.DEV, "web", "x"), payload)
    return dict(codec.headers(event))


WEB_USAGE = TaskUsage("shop-0a1b2c3d/web/dev/FR-1", "web", Role.DEV, 1, 0, 10, 5, 0.1, 2.0)
WEB_DONE = TaskCompleted("shop-0a1b2c3d/web/dev/FR-1", "web", Role.DEV, 1, 0, "done")
OWN_DONE = TaskCompleted("shop-0a1b2c3d/backend/dev/FR-1", "backend", Role.DEV, 1, 0, "done")


def test_the_monitor_of_one_area_reads_every_areas_usage_and_only_its_own_other_events() -> None:
    monitor = Parts(monitor_definition(), "backend", S).filter
    assert monitor.skip(headers_of(WEB_USAGE)) is None  # the project budget sums it
    assert monitor.skip(headers_of(WEB_DONE)) == "area"
    assert monitor.skip(headers_of(OWN_DONE)) is None


def test_a_service_that_declares_nothing_skips_every_other_areas_usage() -> None:
    assert dev_definition().every_area == frozenset()
    plain = Filter.of(frozenset({TaskUsage}), "backend", None)
    assert plain.skip(headers_of(WEB_USAGE)) == "area"


def test_only_an_interest_passes_the_area_check() -> None:
    """Declaring a type the decider does not read changes nothing: it is skipped by type."""
    across = Filter.of(frozenset({TaskUsage}), "backend", None, every_area=frozenset({TaskCompleted}))
    assert across.every_area == frozenset()
    assert across.skip(headers_of(WEB_DONE)) == "type"
    assert across.skip(headers_of(WEB_USAGE)) == "area"


def test_the_role_check_still_applies_to_a_type_read_from_every_area() -> None:
    worker = Filter.of(frozenset({TaskUsage}), "backend", "qa", every_area=frozenset({TaskUsage}))
    assert worker.skip(headers_of(WEB_USAGE)) == "role"
