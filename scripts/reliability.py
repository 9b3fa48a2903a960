#!/usr/bin/env python3
"""`make reliability`: run the fault battery and write its figures as a table.

Runs `pytest -m reliability` with the figures file pointed at reliability/latest.json,
then renders reliability/latest.md (fault, tasks lost, duplicates, recovery time, DLQ
count). `--render` only re-renders the table from the JSON. Exits with pytest's status.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "reliability"


def render(rows: list[dict], command: str, status: int | None) -> str:
    lines = [
        "# Reliability battery: latest figures",
        "",
        f"Run `{command}` on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
        + ("" if status is None else f" (pytest exit status {status})")
        + ".",
        "Tasks lost = tasks that should be verified and are not; duplicates = logical effects",
        "carried by two different event ids (the same id at two offsets is a harmless producer",
        "retry, shown as log copies); recovery = fault injected -> every project terminal and the",
        "PostgreSQL projection caught up; projection = the live read model (events unique, equal to",
        "the log's ids) against a rebuild from offset 0 (`projections rebuild --verify`).",
        "",
        "| fault | projects terminal | tasks lost | duplicates | log copies | recovery s | DLQ | projection | digest | ok |",  # noqa: E501
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ok = "yes" if not r.get("problems") else "NO: " + "; ".join(r["problems"][:3])
        rec = "-" if r.get("recovery_s") is None else f"{r['recovery_s']:.1f}"
        lines.append(
            f"| {r['fault']} | {r['terminal']}/{r['projects']} | {r['tasks_lost']} | "
            f"{r['duplicate_effects']} | {r['log_copies']} | {rec} | {r['dlq']} | "
            f"{r.get('projection') or '-'} | "
            f"{r.get('digest') or '-'} | {ok} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    OUT.mkdir(exist_ok=True)
    figures = OUT / "latest.json"
    command = "make reliability"
    status = None
    started = None
    if "--render" not in sys.argv:
        started = time.monotonic()
        figures.unlink(missing_ok=True)
        env = {**os.environ, "ORCH_RELIABILITY_FIGURES": str(figures)}
        args = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-m",
            "reliability",
            "tests/reliability",
            *[a for a in sys.argv[1:] if a != "--render"],
        ]
        status = subprocess.call(args, cwd=REPO, env=env)
    rows = json.loads(figures.read_text()) if figures.is_file() else []
    text = render(rows, command, status)
    if started is not None:
        text += f"\nTotal wall time: {time.monotonic() - started:.0f} s.\n"
    (OUT / "latest.md").write_text(text)
    print(f"wrote {OUT / 'latest.md'} ({len(rows)} rows)")
    return status or 0


if __name__ == "__main__":
    sys.exit(main())
