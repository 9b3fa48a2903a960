"""The main job: a local stack, every service as its own process, one spec to completion."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.adapters import client
from orchestrator.adapters.config import Settings
from orchestrator.adapters.stack.proc import free_port, port_free
from orchestrator.adapters.wallclock import now_ms
from orchestrator.core.actors import ACTORS as ACTOR_SERVICES
from orchestrator.core.envelope import Event
from services.projections import views


@dataclass
class Fleet:
    """Service processes started by us, by name; stopped by pid, never by pattern."""

    settings: Settings
    env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    env_of: Callable[[str, str], dict[str, str]] | None = None  # (service, label): its own, e.g. principal

    def start(self, name: str, area: str = "all", label: str | None = None) -> subprocess.Popen[bytes]:
        label = label or name
        logs = self.settings.run_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        # the label names the instance slot: a restart takes over its predecessor's transactions
        own = self.env_of(name, label) if self.env_of is not None else {}
        env = {**os.environ, **settings_env(self.settings), **self.env, **own, "PYTHONUNBUFFERED": "1",
               "ORCH_INSTANCE_ID": label}
        with open(logs / f"{label}.log", "ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "orchestrator", "service", name, "--area", area],
                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )
        self.procs[label] = proc
        return proc

    def kill(self, label: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(label)
        proc.send_signal(sig)
        proc.wait(timeout=30)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self.procs.clear()

    def dead(self) -> list[str]:
        return [label for label, p in self.procs.items() if p.poll() is not None]


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that points a child service at the same servers and names."""
    env = {
        "ORCH_KAFKA_BOOTSTRAP": settings.bootstrap,
        "ORCH_TOPIC_PREFIX": settings.topic_prefix,
        "ORCH_RUN_DIR": str(settings.run_dir.resolve()),
        "ORCH_ARTIFACT_ROOT": settings.artifacts,
        "ORCH_WORKSPACE_ROOT": settings.workspaces,
        "ORCH_PARTITIONS": str(settings.partitions),
    }
    with contextlib.suppress(RuntimeError):  # actors need no database
        env["ORCH_DATABASE_URL"] = settings.dsn
    return env


def start_actors(fleet: Fleet) -> None:
    for name in ACTOR_SERVICES:
        fleet.start(name)


def start_read_side(fleet: Fleet) -> str:
    """The projector and the query API; returns the API's base URL."""

    port = fleet.settings.api_port if port_free(fleet.settings.api_port) else free_port()
    fleet.env["ORCH_API_PORT"] = str(port)
    fleet.start("projector")
    fleet.start("api")
    return f"http://127.0.0.1:{port}"


def read_model(settings: Settings, project_id: str, terminal: str, timeout: float) -> dict[str, object]:
    """Task counts from the projection once it shows the project's end (or the timeout)."""

    deadline = time.monotonic() + timeout
    schema = os.environ.get("ORCH_PROJECTION_SCHEMA", views.LIVE_SCHEMA)
    with views.connect(settings.dsn, schema) as conn:
        while True:
            found = views.get_project(conn, project_id)
            conn.commit()
            if (found and found["status"] == terminal) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        rows = views.list_tasks(conn, project_id, {}, 100_000, None)
    return {
        "projection": (found or {}).get("status", "missing"),
        "tasks_by_status": dict(Counter(str(r["status"]) for r in rows)),
        "attempts": dict(Counter(f"attempt {r['attempt']}" for r in rows)),
    }


def summarize(events: list[Event]) -> dict[str, object]:
    by_type = Counter(e.type for e in events)
    attempts: dict[str, int] = {}
    for e in events:
        if e.type == "task.assigned":
            task = e.payload.task_id  # type: ignore[union-attr]
            attempts[task] = max(attempts.get(task, 0), e.payload.attempt)  # type: ignore[union-attr]
    artifacts = {a.uri for e in events for a in e.artifacts}
    return {
        "events": dict(sorted(by_type.items())),
        "tasks": len(attempts),
        "retried_tasks": sorted(t for t, n in attempts.items() if n > 1),
        "alerts": [f"{e.payload.kind}: {e.payload.task_id}" for e in events  # type: ignore[union-attr]
                   if e.type == "monitor.alert"],
        "artifacts": len(artifacts),
    }


def run(settings: Settings, spec: Path, timeout: float, echo: bool = True) -> tuple[str, list[Event]]:
    """Submit `spec` and follow it to its outcome; returns (terminal type, events)."""
    since = now_ms() - 1000
    submitted = client.submit(settings, spec)
    seen: dict[str, Event] = {}
    outcome = "timeout"
    for event in client.follow(settings, since, timeout,
                               lambda e: e.request_id == submitted.request_id):
        if event.event_id in seen:
            continue
        seen[event.event_id] = event
        if echo and event.type not in ("task.heartbeat",):
            print(f"  {event.type:<24} {_what(event)}", flush=True)
        if event.type in client.TERMINAL:
            outcome = event.type
            break
    return outcome, list(seen.values())


def _what(event: Event) -> str:
    p = event.payload
    for attr in ("task_id", "area", "name"):
        if hasattr(p, attr):
            extra = f" attempt {p.attempt}" if hasattr(p, "attempt") else ""
            return f"{getattr(p, attr)}{extra}"
    return event.project_id
