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
    return []


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
