"""`python -m bench.run [--quick] [--only PART,...]`: the benchmark parts in one run on a fresh local stack.

The stack lives in .run/bench (started and stopped here); each part uses its own topic
prefix; results go to bench/results/latest.{json,md,png}.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import api, baselines, flow, projection, report, restart
from bench.common import REPO, RUN_DIR, part_settings
from orchestrator.adapters import stack
from orchestrator.adapters.config import Settings

RESULTS = REPO / "bench" / "results"
PARTS = ("codec", "baselines", "throughput", "latency", "big_spec", "projection", "api", "restart", "scale2")
SIZES = {
    # kafka n, pg n, codec n, P, T, low-load projects, big-spec runs, timeout, rebuild events
    "full": dict(kafka=100_000, pg=100_000, codec=20_000, projects=40, reqs=5, low=6, big=3, timeout=300,
                 rebuild=200_000, history=1_000_000,
                 api=dict(projects=10_000, seconds=10, requests=1_000_000)),
    "quick": dict(kafka=20_000, pg=20_000, codec=5_000, projects=10, reqs=5, low=2, big=1, timeout=120,
                  rebuild=20_000, history=100_000, api=dict(projects=1_000, seconds=4, requests=400_000)),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.run")
    ap.add_argument("--quick", action="store_true", help="a ~2 minute version")
    ap.add_argument("--reuse-stack", action="store_true", help="keep a running .run/bench stack")
    ap.add_argument("--profile", default="pm", help="service run under py-spy during part 3 ('' = none)")
    ap.add_argument("--only", default="", help=f"comma-separated parts to run (of {', '.join(PARTS)})")
    args = ap.parse_args(argv)
    only = set(filter(None, args.only.split(",")))
    if only - set(PARTS):
        ap.error(f"unknown parts: {', '.join(sorted(only - set(PARTS)))}")
    mode = "quick" if args.quick else "full"
    z = SIZES[mode]
    started = time.monotonic()
    r: dict[str, Any] = {"command": "python -m bench.run" + (" --quick" if args.quick else "")
                         + (f" --only {args.only}" if only else ""),
                         "mode": mode, "sizes": z, "started": datetime.now(UTC).isoformat(),
                         "notes": [], "errors": {}}
    base = Settings(run_dir=RUN_DIR)
    if not args.reuse_stack:
        stack.down(base)
        shutil.rmtree(RUN_DIR, ignore_errors=True)
    print("stack:", {k: v.get("action") for k, v in stack.up(base).items()}, flush=True)

    def part(name: str, fn: Any) -> None:
        if only and name not in only:
            return
        t0 = time.monotonic()
        print(f"[{time.monotonic() - started:6.1f}s] {name} ...", flush=True)
        try:
            r[name] = fn()
        except Exception as exc:
            r["errors"][name] = "".join(traceback.format_exception(exc))[-3000:]
            print(f"  {name} failed: {exc!r}", flush=True)
        print(f"  {name} took {time.monotonic() - t0:.1f}s", flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="bench-specs-"))
    prof_raw = RUN_DIR / "profile.txt"
    try:
        part("codec", lambda: baselines.codec_bench(z["codec"]))
        part("baselines", lambda: {
            "kafka": baselines.kafka(part_settings(base, "kafka"), z["kafka"]),
            "postgres": baselines.postgres(base, z["pg"]),
        })
        part("throughput", lambda: flow.run_throughput(
            part_settings(base, "throughput"), tmp, z["projects"], z["reqs"], z["timeout"],
            profile=args.profile or None, profile_out=prof_raw))
        part("latency", lambda: flow.run_throughput(
            part_settings(base, "latency"), tmp, 0, z["reqs"], 60, low_load=z["low"]))
        part("big_spec", lambda: flow.run_big_spec(part_settings(base, "bigspec"), tmp, 25, z["big"]))
        part("projection", lambda: projection.run(
            part_settings(base, "projection"), z["rebuild"],
            r.get("baselines", {}).get("postgres", {}).get("copy_rows_s")))
        part("api", lambda: api.run(part_settings(base, "api"), z["api"]))
        part("restart", lambda: {
            "10k": restart.run(part_settings(base, "restart10k"), 10_000),
            "1m": restart.run(part_settings(base, "restart1m"), z["history"]),
        })
        part("scale2", lambda: flow.run_throughput(
            part_settings(base, "scale2"), tmp, z["projects"], z["reqs"], z["timeout"], instances=2))
        if args.profile and "throughput" in r:
            r["profile"] = {"service": args.profile, **report.profile_top(prof_raw)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if not args.reuse_stack:
            print("stack down:", stack.down(base), flush=True)
        r["elapsed_s"] = time.monotonic() - started
        name = "only-" + "-".join(sorted(only)) if only else "latest"
        report.write(r, RESULTS, name)
        print((RESULTS / f"{name}.md").read_text(), flush=True)
    return 1 if r["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
