"""The tools the `llm` executor offers a model, confined to the task's project directory.

`write_file`, `read_file`, `run_command` (only the configured command) and `finish`;
a refused or failing call is answered to the model as `error: ...` (docs/executors.md,
section `llm`).
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.adapters.executors.command import kill_group
from orchestrator.core.envelope import Attachment

TOOL_OUTPUT_CAP = 16 * 1024
READ_CAP = 256 * 1024

TOOLS: list[dict[str, Any]] = [
    {"type": "function", "function": {
        "name": "write_file", "description": "Write a text file in the workspace (path relative to it).",
        "parameters": {"type": "object", "required": ["path", "content"], "properties": {
            "path": {"type": "string"}, "content": {"type": "string"}}}}},
    {"type": "function", "function": {
        "name": "read_file", "description": "Read a text file of the workspace.",
        "parameters": {"type": "object", "required": ["path"], "properties": {
            "path": {"type": "string"}}}}},
    {"type": "function", "function": {
        "name": "run_command", "description": "Run the allowed command in the workspace.",
        "parameters": {"type": "object", "required": ["command"], "properties": {
            "command": {"type": "string"}}}}},
    {"type": "function", "function": {
        "name": "finish", "description": "End the task with its verdict.",
        "parameters": {"type": "object", "required": ["ok", "summary"], "properties": {
            "ok": {"type": "boolean"}, "summary": {"type": "string"},
            "failures": {"type": "array", "items": {"type": "string"}}}}}},
]


class ToolError(Exception):
    """Told to the model as the tool's result; the run goes on."""


@dataclass
class Session:
    """One run's mutable bookkeeping: the files written and the tokens spent."""

    root: Path
    allowed: list[str] | None
    command_timeout_s: float
    env: dict[str, str] = field(default_factory=dict)  # the task's context, as `command` gives it
    written: dict[str, None] = field(default_factory=dict)
    tokens_in: int = 0
    tokens_out: int = 0
    verdict: tuple[bool, str, tuple[str, ...]] | None = None


async def call(session: Session, call: dict[str, Any]) -> str:
    function = call.get("function") or {}
    name = function.get("name", "")
    try:
        args = json.loads(function.get("arguments") or "{}")
        if not isinstance(args, dict):
            raise ToolError("arguments must be a JSON object")
        match name:
            case "write_file":
                return _write(session, str(args["path"]), str(args["content"]))
            case "read_file":
                path = _inside(session.root, str(args["path"]))
                return path.read_text(errors="replace")[:READ_CAP]
            case "run_command":
                return await _run(session, str(args["command"]))
            case "finish":
                failures = tuple(str(f) for f in args.get("failures") or ())
                session.verdict = (bool(args["ok"]), str(args.get("summary") or ""), failures)
                return "finished"
            case _:
                raise ToolError(f"unknown tool {name!r}")
    except ToolError as exc:
        return f"error: {exc}"
    except (KeyError, json.JSONDecodeError) as exc:
        return f"error: bad arguments for {name}: {exc!r}"
    except OSError as exc:
        return f"error: {exc.strerror or exc}"


def _inside(root: Path, rel: str) -> Path:
    path = (root / rel).resolve()
    if not rel or Path(rel).is_absolute() or not path.is_relative_to(root) or path == root:
        raise ToolError(f"path {rel!r} is outside the workspace")
    return path


def _write(session: Session, rel: str, content: str) -> str:
    path = _inside(session.root, rel)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    session.written[path.relative_to(session.root).as_posix()] = None
    return f"wrote {len(content.encode())} bytes to {rel}"


async def _run(session: Session, line: str) -> str:
    try:
        argv = shlex.split(line)
    except ValueError as exc:
        raise ToolError(f"unparsable command: {exc}") from None
    if session.allowed is None or argv != session.allowed:
        allowed = shlex.join(session.allowed) if session.allowed else "none"
        raise ToolError(f"command refused: only {allowed!r} may run")
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=session.root, env=session.env or None, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True)
    except OSError as exc:
        raise ToolError(f"command failed to start: {exc}") from None
    assert proc.stdout is not None
    reading = asyncio.ensure_future(_collect(proc.stdout, TOOL_OUTPUT_CAP))
    try:
        await asyncio.wait_for(proc.wait(), session.command_timeout_s)
    except TimeoutError:
        await kill_group(proc)
        reading.cancel()
        raise ToolError(f"command timed out after {session.command_timeout_s:g}s; killed") from None
    except asyncio.CancelledError:
        await kill_group(proc)
        raise
    await kill_group(proc)  # nothing it started outlives the call
    output = (await reading).decode(errors="replace")
    return f"exit {proc.returncode}\n{output}"


async def _collect(stream: asyncio.StreamReader, cap: int) -> bytes:
    """The first `cap` bytes of `stream`, read to its end so the process never blocks."""
    kept = b""
    while chunk := await stream.read(64 * 1024):
        kept += chunk[: max(cap - len(kept), 0)]
    return kept


def files(session: Session) -> list[Attachment]:
    out = []
    for rel in session.written:
        path = session.root / rel
        if path.is_file():
            kind = mimetypes.guess_type(path.name)[0] or "text/plain"
            out.append(Attachment(rel, kind, path.read_bytes()))
    return out
