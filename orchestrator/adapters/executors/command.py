"""The `command` executor: a process in a per-task workspace; its exit code decides.

Options, workspace layout and what each exit means per role: docs/executors.md, section `command`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from orchestrator.adapters.config import Settings
from orchestrator.adapters.executors.results import capped, declared, judge, tail
from orchestrator.adapters.executors.workspace import (
    command_line,
    context_env,
    project_dir,
    pull_project,
    push_project,
    work_json,
    workspace,
)
from orchestrator.core.durations import parse_duration
from orchestrator.core.worker.work import Outcome, Work

DEFAULT_TIMEOUT = "10m"
OUTPUT_CAP = 1024 * 1024
MAX_ARTIFACT_BYTES = 50 * 1024 * 1024
KILL_GRACE_S = 2.0


@dataclass(frozen=True)
class CommandRunner:
    options: dict[str, str]
    settings: Settings

    async def run(self, work: Work) -> Outcome:
        try:
            timeout_s = parse_duration(self.options.get("timeout", DEFAULT_TIMEOUT)) / 1000
            cap = int(self.options.get("output_cap", OUTPUT_CAP))
            max_file = int(self.options.get("max_artifact_bytes", MAX_ARTIFACT_BYTES))
            template = self.options.get("run", "").strip()
            if not template:
                raise ValueError("option `run` (the command line) is missing")
            ws, shared = workspace(self.settings, work), project_dir(self.settings, work)
            command_line(template, work, ws, shared)
        except (ValueError, KeyError, IndexError) as exc:
            return Outcome(False, f"command executor misconfigured: {exc}")
        # the object store behind a remote workspace root may fail in many ways: each one
        # fails the task with its reason. A cancelled command (lost partition) pushes nothing.
        try:
            pulled = await pull_project(self.settings, work, shared)
        except Exception as exc:
            return Outcome(False, f"pulling the project directory failed: {exc!r}")
        outcome = await self._execute(work, ws, shared, template, timeout_s, cap, max_file)
        try:
            await push_project(self.settings, work, shared, pulled)
        except Exception as exc:
            return Outcome(False, f"pushing the project directory failed: {exc!r}",
                           attachments=outcome.attachments)
        return outcome

    async def _execute(self, work: Work, ws: Path, shared: Path, template: str, timeout_s: float,
                       cap: int, max_file: int) -> Outcome:
        argv = command_line(template, work, ws, shared)
        ws.mkdir(parents=True, exist_ok=True)
        for stale in ("failures.txt", "smoke.txt"):
            (ws / stale).unlink(missing_ok=True)
        (ws / "task.json").write_text(json.dumps(
            {**work_json(work), "workspace": str(ws), "project_dir": str(shared)}, indent=2))
        env = {**os.environ, **context_env(work, ws, shared)}
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, cwd=ws, env=env, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                start_new_session=True)
        except FileNotFoundError:
            return Outcome(False, f"command not found: {argv[0]!r} (run: {template})")
        except PermissionError:
            return Outcome(False, f"command not executable: {argv[0]!r} (run: {template})")
        assert proc.stdout is not None and proc.stderr is not None
        drains = asyncio.gather(_drain(proc.stdout, ws / "stdout.txt", cap),
                                _drain(proc.stderr, ws / "stderr.txt", cap))
        timed_out = False
        try:
            await asyncio.wait_for(proc.wait(), timeout_s)
        except TimeoutError:
            timed_out = True
            await kill_group(proc)
        except asyncio.CancelledError:  # the worker lost the partition or stops
            await kill_group(proc)
            raise
        try:  # a grandchild that keeps the pipes open must not hold the task forever
            sizes = tuple(await asyncio.wait_for(drains, KILL_GRACE_S * 5))
        except TimeoutError:
            await kill_group(proc)
            sizes = ((ws / "stdout.txt").stat().st_size, (ws / "stderr.txt").stat().st_size)
        attached = [capped(ws / "stdout.txt", sizes[0], cap), capped(ws / "stderr.txt", sizes[1], cap)]
        files, skipped = declared(ws, self.options.get("artifacts", ""), max_file)
        attached.extend(files)
        note = f"; left out (over {max_file} bytes): {', '.join(skipped)}" if skipped else ""
        if timed_out:
            return Outcome(False, f"timed out after {timeout_s:g}s; process group killed{note}",
                           attachments=tuple(attached))
        return judge(work, ws, proc.returncode or 0, tail(ws / "stderr.txt"), tuple(attached), note)


async def _drain(stream: asyncio.StreamReader, path: Path, cap: int) -> int:
    """Copy `stream` to `path` up to `cap` bytes, read (and count) the rest; the total."""
    total = 0
    with open(path, "wb") as out:
        while chunk := await stream.read(64 * 1024):
            if total < cap:
                out.write(chunk[: cap - total])
            total += len(chunk)
    return total


async def kill_group(proc: asyncio.subprocess.Process) -> None:
    for sig, wait in ((signal.SIGTERM, KILL_GRACE_S), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            await asyncio.wait_for(proc.wait(), wait)
        except TimeoutError:
            continue
        if sig == signal.SIGTERM:  # the leader is gone; make sure its children are too
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        return
