"""Parts 3, 4, 5 and 7: the whole fleet, each service its own process, on the real broker."""

from __future__ import annotations

import subprocess
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from bench.common import LogReader, cpu_seconds, rss_kb, summary, tree_pids
from orchestrator.adapters import client, kafka_topics
from orchestrator.adapters.bus import Publisher
from orchestrator.adapters.config import Settings
from orchestrator.core.envelope import Event
from orchestrator.entrypoints import demo

WORKERS = ("dev", "qa", "devops")
DONE = {"project.completed", "project.blocked", "spec.rejected"}


def spec_text(name: str, modules: list[tuple[str, int]]) -> str:
    lines = ["apiVersion: orchestrator/v1", "kind: Spec", f"project: {name}", "modules:"]
    n = 0
    for area, count in modules:
        lines.append(f"  - area: {area}")
        lines.append("    requirements:")
        for _ in range(count):
            n += 1
            lines.append(f"      - {{id: FR-{n}, title: Requirement {n}}}")
    lines += [
        "policy:",
        "  max_attempts: 3",
        "  deadlines: {dev: 120s, qa: 120s, devops: 120s}",
        "  heartbeat_timeout: 60s",
        "executors:",
        "  dev: {kind: simulated, duration: 0s}",
        "  qa: {kind: simulated, duration: 0s}",
        "  devops: {kind: simulated, duration: 0s}",
    ]
    return "\n".join(lines) + "\n"


class Bench:
    """One fleet on fresh topics, a reader of its log, and the service pids."""

    def __init__(self, settings: Settings, tmp: Path, instances: int = 1, concurrency: int = 32,
                 profile: str | None = None, profile_seconds: float = 0) -> None:
        self.settings = settings
        self.tmp = tmp
        kafka_topics.provision(settings)
        self.fleet = demo.Fleet(settings, env={"ORCH_WORKER_CONCURRENCY": str(concurrency)})
        for name in demo.ACTOR_SERVICES:
            self.fleet.start(name)
            if name in WORKERS:
                for k in range(2, instances + 1):
                    self.fleet.start(name, label=f"{name}-{k}")
        self.reader = LogReader(settings)
        self.publisher = Publisher(settings)
        self.n = 0
        self.spy: subprocess.Popen[bytes] | None = None
        self.profile = profile
        self.profile_seconds = profile_seconds

    # -- specs and submissions -------------------------------------------------------
    def spec(self, modules: list[tuple[str, int]]) -> Path:
        self.n += 1
        path = self.tmp / f"{self.settings.topic_prefix}-{self.n}.yaml"
        path.write_text(spec_text(f"Bench {self.n}", modules))
        return path

    def submit(self, paths: list[Path]) -> list[Event]:
        subs = [client.submission(p.read_bytes(), p.name) for p in paths]
        self.publisher.publish_sync(subs)
        return subs

    def wait(self, subs: list[Event], timeout: float, tick: Any = None) -> dict[str, Any]:
        rids = {s.request_id for s in subs}

        def finished(r: LogReader) -> bool:
            if tick:
                tick()
            ends = {e.request_id for e in r.events.values() if e.type in DONE}
            return rids <= ends

        ok = self.reader.wait_for(finished, timeout)
        events = [e for e in self.reader.order if e.request_id in rids]
        outcomes = Counter(e.type for e in events if e.type in DONE)
        return {"ok": ok, "events": events, "subs": subs, "outcomes": dict(outcomes)}

    def warm(self, timeout: float = 180) -> float:
        t0 = time.monotonic()
        for _ in range(2):
            got = self.wait(self.submit([self.spec([("backend", 2)])]), timeout)
            if not got["ok"]:
                raise RuntimeError(f"warm-up did not complete; dead services: {self.fleet.dead()}")
        return time.monotonic() - t0

    # -- processes -------------------------------------------------------------------
    def pids(self) -> dict[str, int]:
        return {label: p.pid for label, p in self.fleet.procs.items()}

    def rss_mb(self) -> dict[str, float]:
        out = {}
        for label, pid in self.pids().items():
            kb = sum(rss_kb(p) or 0 for p in tree_pids(pid)[:1])
            out[label] = kb / 1024
        return out

    def cpu(self) -> dict[str, float]:
        return {label: cpu_seconds(pid) or 0.0 for label, pid in self.pids().items()}

    def start_profile(self, out: Path) -> None:
        if not self.profile:
            return
        pid = self.pids()[self.profile]
        spy = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "py-spy"
        if not spy.exists():
            return
        self.spy = subprocess.Popen(
            [str(spy), "record", "-p", str(pid), "-r", "250", "-f", "raw", "-o", str(out),
             "-d", str(int(self.profile_seconds)), "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def stop_profile(self) -> None:
        if self.spy is None:
            return
        try:  # py-spy stops itself after its duration and writes the file
            self.spy.wait(timeout=self.profile_seconds + 30)
        except subprocess.TimeoutExpired:
            self.spy.kill()
            self.spy.wait(timeout=10)
        self.spy = None

    def close(self) -> None:
        self.stop_profile()
        self.publisher.close()
        self.reader.close()
        self.fleet.stop()


def hops(events: list[Event], subs: list[Event]) -> tuple[list[float], dict[str, list[float]]]:
    by_id = {e.event_id: e for e in [*subs, *events]}
    out: list[float] = []
    pairs: dict[str, list[float]] = defaultdict(list)
    for e in events:
        if e.type == "task.heartbeat" or not e.causation_id:
            continue
        cause = by_id.get(e.causation_id)
        if cause is None:
            continue
        d = float(e.occurred_at - cause.occurred_at)
        out.append(d)
        pairs[f"{cause.type} -> {e.type}"].append(d)
    return out, pairs


def cycles_of(events: list[Event]) -> int:
    return sum(1 for e in events if e.type == "task.verified"
               and getattr(e.payload, "role", None) == "dev")


def throughput(got: dict[str, Any]) -> dict[str, Any]:
    events, subs = got["events"], got["subs"]
    start = min(s.occurred_at for s in subs)
    end = max((e.occurred_at for e in events if e.type in DONE), default=start)
    window = max(end - start, 1) / 1000
    n_events = len(events) + len(subs)
    cycles = cycles_of(events)
    return {"projects": len(subs), "completed": got["outcomes"].get("project.completed", 0),
            "all_done": got["ok"], "cycles": cycles, "events": n_events, "window_s": window,
            "cycles_s": cycles / window, "events_s": n_events / window,
            "types": dict(Counter(e.type for e in events))}


def top_pairs(pairs: dict[str, list[float]], k: int = 12) -> dict[str, Any]:
    ranked = sorted(pairs.items(), key=lambda kv: -len(kv[1]))[:k]
    return {name: summary(vals) for name, vals in ranked}


def run_throughput(settings: Settings, tmp: Path, projects: int, reqs: int, timeout: float,
                   instances: int = 1, profile: str | None = None, profile_out: Path | None = None,
                   low_load: int = 0) -> dict[str, Any]:
    profile_seconds = min(timeout, 8 if projects <= 10 else 12)
    b = Bench(settings, tmp, instances=instances, profile=profile, profile_seconds=profile_seconds)
    out: dict[str, Any] = {"instances_per_worker": instances, "projects": projects,
                           "requirements_per_project": reqs}
    try:
        out["startup_and_warmup_s"] = b.warm()
        time.sleep(2.0)
        out["rss_rest_mb"] = b.rss_mb()
        if low_load:  # one project at a time: the low-load hop latency
            all_hops: list[float] = []
            pairs: dict[str, list[float]] = defaultdict(list)
            for _ in range(low_load):
                got = b.wait(b.submit([b.spec([("backend", reqs)])]), 120)
                h, p = hops(got["events"], got["subs"])
                all_hops += h
                for k, v in p.items():
                    pairs[k] += v
                time.sleep(0.3)
            out["low_load_hops_ms"] = summary(all_hops)
            out["low_load_hop_pairs_ms"] = top_pairs(pairs)
        peak: dict[str, float] = {}
        last = [0.0]

        def tick() -> None:
            if time.monotonic() - last[0] < 0.5:
                return
            last[0] = time.monotonic()
            for k, v in b.rss_mb().items():
                peak[k] = max(peak.get(k, 0.0), v)

        if not projects:
            return out
        specs = [b.spec([("backend", reqs)]) for _ in range(projects)]
        cpu0 = b.cpu()
        if profile and profile_out:
            b.start_profile(profile_out)
        t0 = time.monotonic()
        got = b.wait(b.submit(specs), timeout, tick)
        out["wall_s"] = time.monotonic() - t0
        cpu1 = b.cpu()
        b.stop_profile()
        out["cpu_s_during_run"] = {k: round(cpu1[k] - cpu0.get(k, 0.0), 3) for k in cpu1}
        out["rss_load_peak_mb"] = peak
        out.update(throughput(got))
        h, p = hops(got["events"], got["subs"])
        out["loaded_hops_ms"] = summary(h)
        out["loaded_hop_pairs_ms"] = top_pairs(p)
        out["dead_services"] = b.fleet.dead()
    finally:
        b.close()
    return out


def run_big_spec(settings: Settings, tmp: Path, per_module: int, runs: int) -> dict[str, Any]:
    b = Bench(settings, tmp)
    out: dict[str, Any] = {"requirements": 3 * per_module, "modules": 3}
    try:
        b.warm()
        walls, windows = [], []
        for _ in range(runs):
            spec = b.spec([("backend", per_module), ("web", per_module), ("mobile", per_module)])
            t0 = time.monotonic()
            got = b.wait(b.submit([spec]), 180)
            walls.append(time.monotonic() - t0)
            tp = throughput(got)
            windows.append(tp["window_s"])
            out.setdefault("outcomes", []).append(got["outcomes"])
            out.setdefault("events", []).append(tp["events"])
        out["submit_to_completed_s"] = windows  # occurred_at of submission -> project.completed
        out["observed_wall_s"] = walls          # incl. the reader seeing the terminal event
        out["best_s"] = min(windows)
        out["median_s"] = sorted(windows)[len(windows) // 2]
        out["dead_services"] = b.fleet.dead()
    finally:
        b.close()
    return out
