"""Faults mid-run on a 20-project workload, every service its own process.

For each fault: every project completes, every task is verified exactly once, no effect is
applied twice (distinct ids per logical effect), and the final logical state's digest
equals the fault-free run's. Recovery = fault injected -> every project terminal.
"""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Callable
from typing import Any

import pytest

from orchestrator.adapters import stack as local_stack
from orchestrator.adapters.config import Settings
from orchestrator.entrypoints import demo

from . import harness
from .conftest import projection_schema, record

pytestmark = pytest.mark.reliability

PROJECTS = 20
RUN_TIMEOUT = 150.0
_baseline: dict[str, Any] = {}


def expected_state(projects: list[harness.Project]) -> dict[str, Any]:
    """What a fault-free run must end with (checked against a real fault-free run below)."""
    state = {}
    for p in projects:
        tasks = {}
        for area, reqs in p.requirements.items():
            for r in reqs:
                tasks[f"{area}/dev/{r}"] = "verified"
                tasks[f"{area}/qa/{r}"] = "open"  # QA's verdict verifies the dev task
            tasks[f"{area}/devops/{','.join(reqs)}"] = "verified"
        state[p.name] = {"outcome": "project.completed", "modules": sorted(harness.AREAS),
                         "tasks": dict(sorted(tasks.items()))}
    return dict(sorted(state.items()))


def drive(fault: str, fleet: demo.Fleet, ledger: harness.Ledger, inject: Callable[[], None] | None,
          heartbeat: str = "3s", at: float = 0.25, workers: dict[str, int] | None = None,
          settle: float = 3.0, projects_n: int = PROJECTS,
          dev_ms: tuple[int, int] | None = None, timeout: float = RUN_TIMEOUT) -> harness.Figures:
    """Start every service and the projector, submit the workload, inject the fault mid-run,
    check the end: the log (ledger) and the Postgres projection against a rebuild from 0."""
    schema = projection_schema(fleet.settings)
    fleet.start("projector")
    for name in demo.ACTOR_SERVICES:
        for i in range((workers or {}).get(name, 1)):
            fleet.start(name, label=name if i == 0 else f"{name}-{i}")
    projects = harness.workload(projects_n, heartbeat=heartbeat, dev_ms=dev_ms)
    rids = {p.request_id for p in projects}
    began = time.monotonic()
    harness.submit(fleet.settings, projects)
    total = harness.expected_tasks(projects)
    recovery = None
    if inject is not None:
        events = harness.wait_until(ledger, rids, harness.progressed(at, total), RUN_TIMEOUT)
        assert not harness.all_terminal(rids)(events), "the workload finished before the fault"
        t0 = time.monotonic()
        inject()
    else:
        t0 = began
    events = harness.wait_until(ledger, rids, harness.all_terminal(rids), timeout)
    harness.wait_projection(fleet.settings, schema, timeout)
    recovery = time.monotonic() - t0  # every project terminal and the projection caught up
    time.sleep(settle)  # let late (zombie, retried) events land before counting
    dlq = sum(1 for _ in harness.iter_dead_letters(fleet.settings))
    figures, state = harness.check(fault, projects, ledger, recovery, dlq)
    dead = fleet.dead()
    figures.problems = [f"{d} exited with {fleet.procs[d].returncode}" for d in dead] + figures.problems
    for label, proc in list(fleet.procs.items()):  # quiet log for the projection's comparison
        if label != "projector" and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for label, proc in list(fleet.procs.items()):
        if label != "projector":
            proc.wait(30)
            fleet.procs.pop(label)
    projection = harness.check_projection(fleet.settings, schema, ledger)
    figures.projection = "; ".join(projection) or "= rebuild"
    figures.problems += projection
    record(figures.row())
    assert figures.problems == [], figures.problems
    assert figures.tasks_lost == 0 and figures.duplicate_effects == 0
    assert state == expected_state(projects)
    if _baseline and projects_n == PROJECTS:
        assert figures.digest == _baseline["digest"]
    assert dead == [], f"services died: {dead}"
    return figures


def assert_clean(figures: harness.Figures) -> harness.Figures:
    """The promise, stated where each fault is: no task lost, no effect applied twice."""
    assert (figures.tasks_lost, figures.duplicate_effects, figures.problems) == (0, 0, [])
    return figures


def test_fault_free_run_sets_the_baseline(fleet: demo.Fleet, ledger: harness.Ledger) -> None:
    figures = assert_clean(drive("none (baseline)", fleet, ledger, None))
    _baseline["digest"] = figures.digest


@pytest.mark.parametrize("service", demo.ACTOR_SERVICES)
def test_sigkill_one_service_mid_run_then_restart(service: str, fleet: demo.Fleet,
                                                  ledger: harness.Ledger) -> None:
    def inject() -> None:
        fleet.kill(service, signal.SIGKILL)
        time.sleep(1.0)
        fleet.start(service)

    assert_clean(drive(f"SIGKILL {service}", fleet, ledger, inject))


def test_sigkill_two_worker_instances_at_once(fleet: demo.Fleet, ledger: harness.Ledger) -> None:
    def inject() -> None:
        a, b = fleet.procs.pop("dev"), fleet.procs.pop("dev-1")
        a.send_signal(signal.SIGKILL)
        b.send_signal(signal.SIGKILL)
        a.wait(10), b.wait(10)
        time.sleep(1.0)
        fleet.start("dev")
        fleet.start("dev", label="dev-1")

    assert_clean(drive("SIGKILL 2 dev instances", fleet, ledger, inject, workers={"dev": 2}))


def test_every_event_duplicated_once(fleet: demo.Fleet, ledger: harness.Ledger) -> None:
    settings: Settings = fleet.settings
    injected: list[int] = []

    def inject() -> None:
        injected.append(harness.inject_copies(settings, ledger.events()))

    figures = assert_clean(drive("every event re-produced", fleet, ledger, inject))
    assert injected[0] > 0 and figures.log_copies == 0  # the fault's copies change nothing


def test_sigkill_at_twenty_random_moments(fleet: demo.Fleet, ledger: harness.Ledger) -> None:
    """Twenty SIGKILLs of random services through one run: some land inside a transaction."""
    rng = random.Random(20)
    kills: list[str] = []

    def inject() -> None:
        for _ in range(20):
            time.sleep(rng.uniform(0.1, 1.2))
            service = rng.choice(demo.ACTOR_SERVICES)
            fleet.kill(service, signal.SIGKILL)
            fleet.start(service)
            kills.append(service)

    assert_clean(drive("SIGKILL x20 at random moments", fleet, ledger, inject, at=0.05))
    assert len(kills) == 20


def test_a_zombie_instance_is_fenced(fleet: demo.Fleet, ledger: harness.Ledger) -> None:
    """A dev instance frozen past its session timeout loses its partitions to the other one;
    thawed, its writes (results of the claims it was running) abort instead of landing twice."""
    fleet.env["ORCH_SESSION_TIMEOUT_MS"] = "6000"

    def inject() -> None:
        zombie = fleet.procs["dev"]
        zombie.send_signal(signal.SIGSTOP)
        try:
            time.sleep(12.0)  # twice the session timeout: dev-1 owns every partition now
        finally:
            zombie.send_signal(signal.SIGCONT)

    figures = assert_clean(drive("zombie dev (SIGSTOP 12s > 6s session, SIGCONT)", fleet, ledger,
                                 inject, workers={"dev": 2}, heartbeat="20s", dev_ms=(300, 900)))
    assert figures.log_copies == 0
    log = (fleet.settings.run_dir / "logs" / "dev.log").read_text()
    assert "lost" in log or "aborted" in log, "the zombie never noticed it was fenced"


def test_worker_paused_past_its_lease_then_resumed(fleet: demo.Fleet, ledger: harness.Ledger) -> None:
    def inject() -> None:
        proc = fleet.procs["dev"]
        proc.send_signal(signal.SIGSTOP)
        try:
            time.sleep(5.0)  # lease (heartbeat_timeout) is 2 s
        finally:
            proc.send_signal(signal.SIGCONT)

    assert_clean(drive("SIGSTOP dev 5s past a 2s lease", fleet, ledger, inject, heartbeat="2s"))


def test_kafka_broker_stopped_15s_then_started(fleet: demo.Fleet, ledger: harness.Ledger,
                                               rel_base: Settings) -> None:
    if not rel_base.stack_state().get("kafka", {}).get("pid"):
        pytest.skip("the broker is external (ORCH_KAFKA_BOOTSTRAP): not ours to stop")

    def inject() -> None:
        local_stack.stop_kafka(rel_base)
        time.sleep(15.0)
        local_stack.start_kafka(rel_base)

    # the broker's own restart and the transaction coordinator's recovery take most of it
    assert_clean(drive("Kafka broker stopped 15s", fleet, ledger, inject, projects_n=10, timeout=300.0))


def test_postgres_stopped_then_started(fleet: demo.Fleet, ledger: harness.Ledger,
                                       rel_base: Settings) -> None:
    if not rel_base.stack_state().get("postgres", {}).get("pid"):
        pytest.skip("the database is external (ORCH_DATABASE_URL): not ours to stop")

    def inject() -> None:
        local_stack.stop_postgres(rel_base)
        time.sleep(8.0)
        local_stack.start_postgres(rel_base)

    assert_clean(drive("PostgreSQL stopped 8s", fleet, ledger, inject, projects_n=10))
