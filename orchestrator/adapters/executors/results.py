"""What a finished task process leaves in its workspace, read into an `Outcome`.

The exit code, `failures.txt` (QA), `smoke.txt` (DevOps), the captured output and the
files the `artifacts` option declares (docs/executors.md, section `command`).
"""

from __future__ import annotations

import glob
import mimetypes
import os
from pathlib import Path

from orchestrator.core.envelope import Attachment
from orchestrator.core.events import Role
from orchestrator.core.worker.work import Outcome, Work


def judge(work: Work, ws: Path, code: int, stderr_tail: str, attached: tuple[Attachment, ...],
          note: str = "") -> Outcome:
    if work.role == Role.QA:
        if code == 0:
            return Outcome(True, f"{len(work.requirement_ids)} requirement(s) passed{note}",
                           attachments=attached)
        listed = _words(ws / "failures.txt")
        failures = tuple(r for r in work.requirement_ids if r in listed) or work.requirement_ids
        return Outcome(False, f"exit {code}: failed {', '.join(failures)}{note}",
                       failures=failures, attachments=attached)
    if code != 0:
        return Outcome(False, f"exit {code}: {stderr_tail or 'no stderr'}{note}", attachments=attached)
    if work.role == Role.DEVOPS:
        smoke = _words(ws / "smoke.txt")
        smoke_ok = None if not smoke else smoke[0].lower() != "failed"
        verdict = {None: "no smoke verdict", True: "smoke passed", False: "smoke failed"}[smoke_ok]
        return Outcome(True, f"deployed {work.scope.value if work.scope else ''}; {verdict}{note}",
                       smoke_ok=smoke_ok, attachments=attached)
    return Outcome(True, f"exit 0{note}", attachments=attached)


def declared(ws: Path, patterns: str, max_bytes: int) -> tuple[list[Attachment], list[str]]:
    """Files matching the comma-separated globs, inside the workspace only."""
    found: dict[Path, None] = {}
    root = ws.resolve()
    for pattern in (p.strip() for p in patterns.split(",") if p.strip()):
        for hit in sorted(glob.glob(pattern, root_dir=root, recursive=True)):
            path = (root / hit).resolve()
            if path.is_file() and path.is_relative_to(root):
                found[path] = None
    out, skipped = [], []
    for path in found:
        rel = path.relative_to(root).as_posix()
        if path.stat().st_size > max_bytes:
            skipped.append(rel)
            continue
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        out.append(Attachment(rel, kind, path.read_bytes()))
    return out, skipped


def capped(path: Path, total: int, cap: int) -> Attachment:
    content = path.read_bytes()
    if total > cap:
        content += f"\n[truncated: {total} bytes written, the first {cap} kept]\n".encode()
    return Attachment(path.name, "text/plain", content)


def _words(path: Path) -> list[str]:
    try:
        return path.read_text(errors="replace").split()
    except FileNotFoundError:
        return []


def tail(path: Path, limit: int = 300) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(f.tell() - limit, 0))
            lines = f.read().decode(errors="replace").strip().splitlines()
    except FileNotFoundError:
        return ""
    return lines[-1] if lines else ""
