"""latest.json, latest.md (metric, value, baseline, ratio, target, met?) and latest.png."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from bench import targets

BOILERPLATE = ("threading.py", "typer/", "runpy", "cli.py", "services.py", "mode/worker.py",
               "run_forever", "run_until_complete", "_run_once", "Handle._run", "shell.py:317",
               "mode/threads.py", "<module>")


def _shown(path: Path) -> str:
    """Paths in results are relative to the repository: they are committed."""
    repo = Path(__file__).resolve().parents[1]
    try:
        return str(path.resolve().relative_to(repo))
    except ValueError:
        return path.name


def profile_top(raw: Path, k: int = 15) -> dict[str, Any]:
    """Self and inclusive sample shares from py-spy's raw (collapsed) output."""
    if not raw.exists():
        return {"error": f"no profile at {_shown(raw)} (is py-spy installed? make bench installs it)"}
    self_c: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        count = int(n)
        total += count
        frames = stack.split(";")
        self_c[frames[-1]] += count
        for f in set(frames):
            incl[f] += count
    if not total:
        return {"samples": 0}
    return {"samples": total,
            "self": [(f, round(c / total, 3)) for f, c in self_c.most_common(k)],
            "inclusive": [(f, round(c / total, 3)) for f, c in incl.most_common()
                          if not any(b in f for b in BOILERPLATE)][:k + 10]}


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.3f}" if abs(v) < 10 else f"{v:,.0f}"
    return str(v)


def rows(r: dict[str, Any]) -> list[tuple[str, Any, Any, Any, str, str]]:
    """(metric, value, baseline, ratio, target, met)."""
    out: list[tuple[str, Any, Any, Any, str, str]] = []
    k = r.get("baselines", {}).get("kafka", {})
    pg = r.get("baselines", {}).get("postgres", {})
    bare = k.get("bare_loop_events_s")

    def add(metric: str, value: Any, baseline: Any = None, target: str = "", ok: bool | None = None) -> None:
        ratio = value / baseline if isinstance(value, (int, float)) and baseline else None
        out.append((metric, value, baseline, ratio, target,
                    "" if ok is None else ("yes" if ok else "**no**")))

    add(f"raw produce, msgs/s ({k.get('record_bytes')} B)", k.get("produce_msgs_s"))
    add("raw consume, msgs/s", k.get("consume_msgs_s"))
    add("bare consume->produce loop, events/s", bare)
    add("bare loop awaiting each ack, events/s", k.get("bare_loop_ack_each_events_s"), bare)
    add("bare loop CPU, µs/event", k.get("bare_loop_cpu_us_per_event"))
    for lbl in ("ping", "ping_linger0"):
        p = k.get(f"{lbl}_ms", {})
        add(f"raw {lbl} produce->consume p50/p99, ms", f"{_fmt(p.get('p50'))} / {_fmt(p.get('p99'))}")
    th = k.get("txn_hop_ms", {})
    add("exactly-once relay hop (consume, produce + offsets in a txn, read_committed) p50/p99, ms",
        f"{_fmt(th.get('p50'))} / {_fmt(th.get('p99'))}")
    add("PostgreSQL COPY, rows/s", pg.get("copy_rows_s"))
    add("PostgreSQL batched UPSERT, rows/s", pg.get("upsert_rows_s"), pg.get("copy_rows_s"))
    c = r.get("codec", {})
    add("codec encode, events/s", c.get("encode_s"), c.get("raw_encode_s"))
    add("codec decode, events/s", c.get("decode_s"), c.get("raw_decode_s"))
    t = r.get("throughput", {})
    if t:
        cs = t.get("cycles_s")
        add(f"task cycles/s ({t.get('projects')}x{t.get('requirements_per_project')})", cs, None,
            ">= 300", cs is not None and cs >= 300)
        es = t.get("events_s")
        add("orchestration events/s (vs bare loop)", es, bare, ">= 0.40 x bare",
            bool(es and bare and es / bare >= 0.40))
        cpu = t.get("cpu_s_during_run", {})
        if cpu and t.get("events"):
            tot = sum(cpu.values())
            add("fleet CPU µs per log event (all 7 services)", tot / t["events"] * 1e6,
                k.get("bare_loop_cpu_us_per_event"))
    low = r.get("latency", {}).get("low_load_hops_ms", {})
    if low:
        add("hop p50 low load, ms", low.get("p50"), k.get("ping_ms", {}).get("p50"), "<= 10",
            low.get("p50") is not None and low["p50"] <= 10)
        add("hop p95 low load, ms", low.get("p95"))
        add("hop p99 low load, ms", low.get("p99"), k.get("ping_ms", {}).get("p99"), "<= 25",
            low.get("p99") is not None and low["p99"] <= 25)
    ld = t.get("loaded_hops_ms", {}) if t else {}
    if ld:
        add(f"hop p50/p95/p99 loaded (offered {_fmt(t.get('events_s'))} ev/s), ms",
            f"{_fmt(ld.get('p50'))} / {_fmt(ld.get('p95'))} / {_fmt(ld.get('p99'))}")
    big = r.get("big_spec", {})
    if big.get("best_s") is not None:
        add(f"{big.get('requirements')}-requirement spec submit->completed (median), s",
            big.get("median_s"), None, "<= 5", big["median_s"] <= 5)
    proj = r.get("projection", {})
    rb = proj.get("rebuild", {})
    if rb:
        raw = proj.get("raw_consume_decode", {}).get("events_per_s")
        rate = rb.get("events_per_s")
        add(f"projection rebuild, events/s ({proj.get('events')} events, verified equal: "
            f"{rb.get('verified_equal')})", rate, raw, ">= 20,000 and >= 0.50 x raw consume+decode",
            bool(rate and raw and rate >= 20_000 and rate / raw >= 0.5))
        add("projection rebuild vs PostgreSQL COPY rows/s", rate, pg.get("copy_rows_s"))
        add("live projector, events/s", proj.get("live_projection", {}).get("events_per_s"), raw)
        seen = proj.get("visibility", {})
        if seen:
            add("event produced -> visible in the read model p50 / p99, ms (low load)",
                f"{_fmt(seen.get('p50_ms'))} / {_fmt(seen.get('p99_ms'))}", None, "p99 <= 250",
                seen.get("p99_ms", 1e9) <= 250)
    else:
        add("projection rebuild", proj.get("status", "not measured"))
    api = r.get("api", {})
    for workers in (1, 2):
        for route, run in api.get(f"workers_{workers}", {}).items():
            a, b = run["api"], run["bare"]
            path = "/projects/{id}" + ("/tasks" if route == "tasks" else "")
            add(f"API GET {path}, {workers} process(es), req/s (vs bare ASGI, wrk {api.get('connections')} "
                "conns)", a["req_per_s"], b["req_per_s"], ">= 0.3 x bare" if workers == 1 else "",
                a["req_per_s"] / b["req_per_s"] >= 0.3 if workers == 1 else None)
            add(f"API GET {path}, {workers} process(es), p50 / p99 ms (bare: "
                f"{_fmt(b['p50_ms'])} / {_fmt(b['p99_ms'])})", f"{_fmt(a['p50_ms'])} / {_fmt(a['p99_ms'])}",
                None, "p99 <= 3 x bare" if workers == 1 else "",
                a["p99_ms"] <= 3 * b["p99_ms"] if workers == 1 else None)
            add(f"API GET {path}, {workers} process(es), server CPU µs/request (vs bare)",
                a["server_cpu_us_per_request"], b["server_cpu_us_per_request"])
    if t:
        rest = t.get("rss_rest_mb", {})
        peak = t.get("rss_load_peak_mb", {})
        if rest:
            mx = max(rest.values())
            add("max service RSS at rest, MB", mx, None, "<= 150", mx <= 150)
        if peak:
            mx = max(peak.values())
            add("max service RSS under load, MB", mx, None, "<= 150", mx <= 150)
    s2 = r.get("scale2", {})
    if s2 and t:
        add("task cycles/s, 2 instances of dev/qa/devops (vs 1)", s2.get("cycles_s"), t.get("cycles_s"))
    return out


def markdown(r: dict[str, Any]) -> str:
    lines = [f"Command: `{r.get('command')}` — {r.get('started')} — {r.get('mode')} — "
             f"run took {_fmt(r.get('elapsed_s'))} s", "", "Targets (ratios measured in this run):", "",
             "| target | value | wanted | met? |", "|---|---|---|---|"]
    for t in r.get("targets") or targets.all_targets(r):
        met = "" if t["met"] is None else ("yes" if t["met"] else "**no**")
        lines.append(f"| `{t['name']}` | {_fmt(t['value'])} | {t['target'] or 'reported'} | {met} |")
    lines += ["", "All figures:", "",
              "| metric | value | baseline | ratio | target | met? |", "|---|---|---|---|---|---|"]
    for m, v, b, ratio, tgt, ok in rows(r):
        lines.append(f"| {m} | {_fmt(v)} | {_fmt(b)} | {_fmt(ratio)} | {tgt} | {ok} |")
    prof = r.get("profile", {})
    if prof.get("self"):
        lines += ["", f"Profile of `{prof.get('service')}` during the throughput run "
                  f"({prof.get('samples')} active samples), top self frames:", ""]
        lines += [f"- {share:.1%} {frame}" for frame, share in prof["self"][:10]]
    if r.get("notes"):
        lines += ["", *[f"- {n}" for n in r["notes"]]]
    return "\n".join(lines) + "\n"


def chart(r: dict[str, Any], path: Path) -> str:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib not installed (pip install '.[bench]'): chart skipped"
    k = r.get("baselines", {}).get("kafka", {})
    t = r.get("throughput", {})
    s2 = r.get("scale2", {})
    bars = [("raw produce", k.get("produce_msgs_s")), ("bare loop", k.get("bare_loop_events_s")),
            ("bare loop\nack each", k.get("bare_loop_ack_each_events_s")),
            ("orchestration\n1 instance", t.get("events_s")),
            ("orchestration\n2 instances", s2.get("events_s"))]
    bars = [(n, v) for n, v in bars if v]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.5))
    a1.bar([n for n, _ in bars], [v for _, v in bars], color="#4477aa")
    a1.set_yscale("log")
    a1.set_ylabel("events/s (log)")
    a1.set_title("Throughput vs raw Kafka")
    lat = [("low load", r.get("latency", {}).get("low_load_hops_ms", {})),
           ("loaded", t.get("loaded_hops_ms", {})), ("raw ping", k.get("ping_ms", {}))]
    width = 0.25
    for i, q in enumerate(("p50", "p95", "p99")):
        a2.bar([x + i * width for x in range(len(lat))], [(v.get(q) or 0) for _, v in lat], width, label=q)
    a2.set_xticks([x + width for x in range(len(lat))], [n for n, _ in lat])
    a2.axhline(10, ls="--", c="gray", lw=0.8)
    a2.axhline(25, ls=":", c="gray", lw=0.8)
    a2.set_ylabel("ms per hop")
    a2.set_title("Hop latency (targets: p50 10 ms, p99 25 ms)")
    a2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return f"chart written to {_shown(path)}"


def write(r: dict[str, Any], results: Path, name: str = "latest") -> None:
    """`name`.json and .md (and latest.png for a whole run); a partial run (`--only`) has its own name."""
    results.mkdir(parents=True, exist_ok=True)
    r["targets"] = targets.all_targets(r)
    if name == "latest":
        r["chart"] = chart(r, results / "latest.png")
    (results / f"{name}.json").write_text(json.dumps(r, indent=2, sort_keys=True, default=str) + "\n")
    (results / f"{name}.md").write_text(markdown(r))
