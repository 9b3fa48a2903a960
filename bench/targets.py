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
        row("hop_p50_vs_txn_relay_hop", _ratio(low.get("p50"), k.get("txn_hop_ms", {}).get("p50"))),
        row("hop_p99_vs_txn_relay_hop", _ratio(low.get("p99"), k.get("txn_hop_ms", {}).get("p99"))),
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
    out: list[Row] = []
    proj = r.get("projection", {})
    rebuilt, raw = proj.get("rebuild", {}), proj.get("raw_consume_decode", {}).get("events_per_s")
    if rebuilt:
        equal = bool(rebuilt.get("verified_equal"))
        out.append(row(f"rebuild_vs_raw_consume_decode ({proj.get('events')} events, verified equal: "
                       f"{equal})", proj.get("rebuild_vs_raw_consume_decode"), ">= 0.5",
                       lambda v: v >= 0.5 and equal))
        live = proj.get("live_projection", {}).get("events_per_s")
        out.append(row("live_projector_vs_raw_consume_decode", live / raw if live and raw else None,
                       ">= 0.3", lambda v: v >= 0.3))
        out.append(row("rebuild_events_per_s", rebuilt.get("events_per_s")))
    seen = proj.get("visibility", {})
    if seen:
        out.append(row("visible_in_read_model_p99_ms", seen.get("p99_ms"), "<= 250", lambda v: v <= 250))
    runs = r.get("api", {}).get("workers_1", {})
    if runs:
        rps = [x["api"]["req_per_s"] / x["bare"]["req_per_s"] for x in runs.values()]
        p99 = [x["api"]["p99_ms"] / x["bare"]["p99_ms"] for x in runs.values()]
        out += [row("api_vs_bare_asgi_req_per_s (worst of GET /projects/{id}, /projects/{id}/tasks)",
                    min(rps), ">= 0.3", lambda v: v >= 0.3),
                row("api_p99_vs_bare_asgi_p99 (worst route)", max(p99), "<= 3", lambda v: v <= 3),
                row("api_p99_ms_50_clients (worst route)", max(x["api"]["p99_ms"] for x in runs.values())),
                row("api_req_per_s_one_process (slowest route)",
                    min(x["api"]["req_per_s"] for x in runs.values())),
                row("api_cpu_us_per_request (one process, dearest route)",
                    max(x["api"]["server_cpu_us_per_request"] for x in runs.values()))]
    two = r.get("api", {}).get("workers_2", {})
    if two:
        out.append(row("api_req_per_s_two_processes (slowest route)",
                       min(x["api"]["req_per_s"] for x in two.values())))
    return out


def all_targets(r: dict[str, Any]) -> list[Row]:
    return [*runtime(r), *read_side(r)]
