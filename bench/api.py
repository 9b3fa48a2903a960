"""The query API under load: wrk on loopback (50 connections, varied ids) against the real API
(`orchestrator service api`, its own process), and the same generator against a bare ASGI app
answering a fixed JSON body (bench/bare_asgi.py) in the same run: the ratio is the target.

Each run is bounded in time (`-d`) and in count (the Lua script stops at BENCH_REQUESTS);
the server's CPU per request comes from /proc.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.common import REPO, cpu_seconds, tree_pids
from bench.projection import fill
from orchestrator.adapters import tokens
from orchestrator.adapters.config import Settings
from orchestrator.adapters.stack.proc import free_port
from services.projections import projector

LUA = Path(__file__).parent / "wrk" / "vary.lua"
CONNECTIONS = 50
ROUTES = {"project": "/projects/bench-%06d", "tasks": "/projects/bench-%06d/tasks"}
UVICORN = ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--host", "127.0.0.1"]


def _serve(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen([sys.executable, *args], env=env, cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError(f"{' '.join(args)} did not answer on port {port} within 60 s")


def _cpu(server: subprocess.Popen[bytes]) -> float:
    return sum(cpu_seconds(p) or 0.0 for p in tree_pids(server.pid))


def wrk(server: subprocess.Popen[bytes], port: int, path: str, ids: int, seconds: int,
        requests: int, token: str = "") -> dict[str, Any]:
    """One bounded wrk run; the figures of its Lua `done` plus the server's CPU per request."""
    exe = shutil.which("wrk")
    if exe is None:
        raise RuntimeError("wrk is not installed (make bench installs it: scripts/ensure-tools.sh bench)")
    env = {**os.environ, "BENCH_PATH": path, "BENCH_IDS": str(ids), "BENCH_REQUESTS": str(requests)}
    cpu0 = _cpu(server)
    auth = ["-H", f"Authorization: Bearer {token}"] if token else []
    done = subprocess.run([exe, "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "5s", *auth,
                           "-s", str(LUA), f"http://127.0.0.1:{port}"],
                          env=env, capture_output=True, text=True, timeout=seconds + 30, check=True)
    cpu = _cpu(server) - cpu0
    line = next(x for x in reversed(done.stdout.splitlines()) if x.startswith("{"))
    r: dict[str, Any] = json.loads(line)
    r["req_per_s"] = r["requests"] / (r["duration_us"] / 1e6)
    r["p50_ms"], r["p99_ms"] = r["p50_us"] / 1000, r["p99_us"] / 1000
    r["server_cpu_us_per_request"] = cpu / r["requests"] * 1e6 if r["requests"] else None
    r["errors"] = r["status_errors"] + r["connect_errors"] + r["read_errors"] + r["timeouts"]
    return r


def run(settings: Settings, z: dict[str, int], workers: tuple[int, ...] = (1, 2)) -> dict[str, Any]:
    projects, seconds, requests = z["projects"], z["seconds"], z["requests"]
    made = fill(settings, projects * 20)
    schema = f"bench_api_{uuid.uuid4().hex[:8]}"
    projector.run_until_caught_up(settings, schema)
    out: dict[str, Any] = {"projects": projects, "events": made, "connections": CONNECTIONS,
                           "seconds_per_run": seconds, "max_requests_per_run": requests}
    env = {**os.environ, "ORCH_KAFKA_BOOTSTRAP": settings.bootstrap, "ORCH_DATABASE_URL": settings.dsn,
           "ORCH_READER_DATABASE_URL": settings.dsn, "ORCH_PROJECTION_SCHEMA": schema,
           "ORCH_TOPIC_PREFIX": settings.topic_prefix}
    token = tokens.create(settings.dsn, ["default"], ["read"], "bench")  # the API as deployed: tokens on
    bare_port = free_port()
    bare = _serve(["-m", "uvicorn", "bench.bare_asgi:app", *UVICORN, "--port", str(bare_port)], env,
                  bare_port)
    try:
        for n in workers:
            port = free_port()
            api = _serve(["-m", "orchestrator", "service", "api"],
                         {**env, "ORCH_API_PORT": str(port), "ORCH_API_WORKERS": str(n)}, port)
            try:
                for route, path in ROUTES.items():
                    wrk(api, port, path, projects, 1, requests, token)  # warm: pool, statements, caches
                    measured = wrk(api, port, path, projects, seconds, requests, token)
                    baseline = wrk(bare, bare_port, path, projects, seconds, requests)
                    out.setdefault(f"workers_{n}", {})[route] = {"api": measured, "bare": baseline}
            finally:
                api.terminate()
                api.wait(10)
    finally:
        bare.terminate()
        bare.wait(10)
    return out
