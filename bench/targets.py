"""The `targets` list of latest.json: one row per target, as ratios measured in the same run.

These machines drift from day to day, so a target is a ratio against a baseline of the same
run where one exists; absolute figures are reported beside them (`target` None) for meaning.
Each issue's part adds its rows in its own function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Row = dict[str, Any]


def row(name: str, value: float | None, target: str | None = None,
        met: Callable[[float], bool] | None = None) -> Row:
    """A target row; `met` None means the figure is reported, not judged."""
    ok = None if value is None or met is None else bool(met(value))
    return {"name": name, "value": None if value is None else round(value, 4), "target": target,
            "met": ok if met is not None else None}


def runtime(r: dict[str, Any]) -> list[Row]:
    """The actor runtime's targets (issue "The actor runtime for the long haul")."""
    k = r.get("baselines", {}).get("kafka", {})
    t = r.get("throughput", {})
    low = r.get("latency", {}).get("low_load_hops_ms", {})
    ping = k.get("ping_ms", {})
    bare, bare_cpu = k.get("bare_loop_events_s"), k.get("bare_loop_cpu_us_per_event")
    cpu = sum(t.get("cpu_s_during_run", {}).values()) / t["events"] * 1e6 if t.get("events") else None
    restart = r.get("restart", {})
    big, small = restart.get("1m", {}), restart.get("10k", {})
    rows = [
        row("orchestration_vs_bare_loop", _ratio(t.get("events_s"), bare), ">= 0.05", lambda v: v >= 0.05),
        row("fleet_cpu_vs_bare_loop", _ratio(cpu, bare_cpu), "<= 20", lambda v: v <= 20),
        row("hop_p50_vs_raw_ping", _ratio(low.get("p50"), ping.get("p50")), "<= 4", lambda v: v <= 4),
        row("hop_p99_vs_raw_ping", _ratio(low.get("p99"), ping.get("p99")), "<= 5", lambda v: v <= 5),
        row("task_cycles_per_s", t.get("cycles_s")),
        row("hop_p50_ms", low.get("p50")),
        row("hop_p99_ms", low.get("p99")),
        row("big_spec_75_s", r.get("big_spec", {}).get("median_s"), "<= 2", lambda v: v <= 2),
        row("restart_catchup_s_1m", big.get("restart_max_s"), "<= 3", lambda v: v <= 3),
        row("restart_catchup_ratio_1m_vs_10k", _ratio(big.get("restart_max_s"), small.get("restart_max_s")),
            "<= 1.5", lambda v: v <= 1.5),
        row("rss_mb_after_1m", max([*big.get("rss_mb_caught_up", {}).values(),
                                    *big.get("rss_mb_restarted", {}).values()], default=None),
            "<= 150", lambda v: v <= 150),
    ]
    return rows


def _ratio(value: float | None, baseline: float | None) -> float | None:
    return value / baseline if value is not None and baseline else None


def read_side(r: dict[str, Any]) -> list[Row]:
    """The projector's and the API's targets (issue "The read side at speed")."""
    return []


def all_targets(r: dict[str, Any]) -> list[Row]:
    return [*runtime(r), *read_side(r)]
