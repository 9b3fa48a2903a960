"""The `llm` executor: a model works the task through a small, bounded tool loop.

It speaks the OpenAI-compatible chat completions API (`POST {base_url}/chat/completions`
with `tools`), which vLLM, the llama.cpp server, Ollama and hosted services all serve.
Options:
- `base_url` (required, e.g. `http://127.0.0.1:8000/v1`), `model` (required);
- `api_key_env`: the name of the environment variable holding the key (none: no header);
- `max_steps` (`20`): model calls before the task fails; `timeout` (`120s`, per call);
- `command`: the one command line `run_command` may run (templated like the `command`
  executor's `run`); without it the tool refuses everything; `command_timeout` (`5m`);
- `cost_in_per_1k`, `cost_out_per_1k` (`0`): price of 1000 tokens, for `task.usage`.

The prompt holds the task (title, requirement ids, acceptance criteria) and its
workspace: the project directory the command executor uses (dev writes code there, QA
and DevOps read it). Tools: `write_file(path, content)` and `read_file(path)`, confined
to that directory (an escaping path is refused to the model), `run_command(command)`
(only the configured one, in its own process group, under `command_timeout`) and
`finish(ok, summary, failures)`. The run ends when the model answers without a tool call
(ok, its text the summary) or calls `finish`; the files it wrote are the artifacts, with
the transcript. More than `max_steps` calls fail the task; token usage is summed.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from orchestrator.config import Settings
from orchestrator.envelope import Attachment
from orchestrator.executors import command as cmd
from orchestrator.executors.manual import outcome_of
from orchestrator.worker import Outcome, Usage, Work

TOOL_OUTPUT_CAP = 16 * 1024
READ_CAP = 256 * 1024
RETRIES = 2

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


@dataclass(frozen=True)
class LlmRunner:
    options: dict[str, str]
    settings: Settings

    async def run(self, work: Work) -> Outcome:
        from orchestrator.executors import parse_duration

        o = self.options
        try:
            base_url, model = o["base_url"].rstrip("/"), o["model"]
            max_steps = int(o.get("max_steps", "20"))
            timeout_s = parse_duration(o.get("timeout", "120s")) / 1000
            command_timeout_s = parse_duration(o.get("command_timeout", "5m")) / 1000
            prices = float(o.get("cost_in_per_1k", "0")), float(o.get("cost_out_per_1k", "0"))
            ws, shared = cmd.workspace(self.settings, work), cmd.project_dir(self.settings, work)
            allowed = (cmd.command_line(o["command"], work, ws, shared)
                       if o.get("command", "").strip() else None)
        except KeyError as exc:
            return Outcome(False, f"llm executor misconfigured: option `{exc.args[0]}` is missing")
        except (ValueError, IndexError) as exc:
            return Outcome(False, f"llm executor misconfigured: {exc}")
        headers = {}
        if key_env := o.get("api_key_env"):
            if not (key := os.environ.get(key_env)):
                return Outcome(False, f"llm executor misconfigured: ${key_env} is not set")
            headers["Authorization"] = f"Bearer {key}"
        try:
            pulled = await cmd.pull_project(self.settings, work, shared)
        except Exception as exc:
            return Outcome(False, f"pulling the project directory failed: {exc!r}")
        ws.mkdir(parents=True, exist_ok=True)
        session = Session(shared.resolve(), allowed, command_timeout_s,
                          {**os.environ, **cmd.context_env(work, ws, shared)})
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": prompt(work, shared, o.get("command", ""))}]
        async with httpx.AsyncClient(timeout=timeout_s, headers=headers) as client:
            summary = await _loop(client, f"{base_url}/chat/completions", model, messages,
                                  session, max_steps)
        usage = Usage(session.tokens_in, session.tokens_out,
                      round(session.tokens_in * prices[0] / 1000 + session.tokens_out * prices[1] / 1000, 6))
        (ws / "transcript.json").write_text(json.dumps(messages, indent=2))
        attached = (*_files(session), Attachment("transcript.json", "application/json",
                                                 (ws / "transcript.json").read_bytes()))
        try:
            await cmd.push_project(self.settings, work, shared, pulled)
        except Exception as exc:
            return Outcome(False, f"pushing the project directory failed: {exc!r}",
                           attachments=attached, usage=usage)
        if session.verdict is None:
            return Outcome(False, summary, attachments=attached, usage=usage)
        ok, text, failures = session.verdict
        outcome = outcome_of(work, ok, text, failures, None, attached)
        return Outcome(outcome.ok, outcome.summary, outcome.failures, outcome.smoke_ok,
                       outcome.attachments, usage)


SYSTEM = ("You are an engineer working one task of a delivery. Use the tools to write and "
          "read files in the workspace and to run the allowed command. When done, call "
          "`finish` (or answer without a tool call).")


def prompt(work: Work, root: Path, command: str) -> str:
    lines = [f"Task {work.task_id} ({work.role.value}, area {work.area}, attempt {work.attempt}, "
             f"round {work.round}): {work.title}",
             f"Requirements: {', '.join(work.requirement_ids) or '-'}"]
    lines += ["Acceptance criteria:", *(f"- {a}" for a in work.acceptance)] if work.acceptance else []
    lines.append(f"Workspace: {root} (paths are relative to it)")
    lines.append(f"Allowed command: {command}" if command.strip() else "No command may be run.")
    return "\n".join(lines)


async def _loop(client: httpx.AsyncClient, url: str, model: str, messages: list[dict[str, Any]],
                session: Session, max_steps: int) -> str:
    """Model calls until a verdict; the failure summary when there is none."""
    for _ in range(max_steps):
        try:
            answer = await _complete(client, url, {"model": model, "messages": messages,
                                                   "tools": TOOLS, "tool_choice": "auto"})
            usage = answer.get("usage") or {}
            session.tokens_in += int(usage.get("prompt_tokens") or 0)
            session.tokens_out += int(usage.get("completion_tokens") or 0)
            message = answer["choices"][0]["message"]
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            return f"the model endpoint answered malformed JSON: {exc!r}"
        except httpx.HTTPError as exc:
            return f"the model endpoint failed: {type(exc).__name__}: {exc}"
        messages.append(message)
        calls = message.get("tool_calls") or []
        if not calls:
            session.verdict = (True, str(message.get("content") or "done"), ())
            return ""
        for call in calls:
            result = await _call(session, call)
            messages.append({"role": "tool", "tool_call_id": call.get("id", ""), "content": result})
        if session.verdict is not None:
            return ""
    return f"step limit: the model did not finish within {max_steps} steps"


async def _complete(client: httpx.AsyncClient, url: str, body: dict[str, Any]) -> dict[str, Any]:
    for tries in range(RETRIES + 1):
        try:
            response = await client.post(url, json=body)
        except httpx.TransportError:
            if tries == RETRIES:
                raise
        else:
            if (response.status_code < 500 and response.status_code != 429) or tries == RETRIES:
                response.raise_for_status()
                answer: dict[str, Any] = response.json()
                return answer
        await asyncio.sleep(0.5 * 2 ** tries)
    raise AssertionError("unreachable")


async def _call(session: Session, call: dict[str, Any]) -> str:
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
        await cmd._kill_group(proc)
        reading.cancel()
        raise ToolError(f"command timed out after {session.command_timeout_s:g}s; killed") from None
    except asyncio.CancelledError:
        await cmd._kill_group(proc)
        raise
    await cmd._kill_group(proc)  # nothing it started outlives the call
    output = (await reading).decode(errors="replace")
    return f"exit {proc.returncode}\n{output}"


async def _collect(stream: asyncio.StreamReader, cap: int) -> bytes:
    """The first `cap` bytes of `stream`, read to its end so the process never blocks."""
    kept = b""
    while chunk := await stream.read(64 * 1024):
        kept += chunk[: max(cap - len(kept), 0)]
    return kept


def _files(session: Session) -> list[Attachment]:
    out = []
    for rel in session.written:
        path = session.root / rel
        if path.is_file():
            kind = mimetypes.guess_type(path.name)[0] or "text/plain"
            out.append(Attachment(rel, kind, path.read_bytes()))
    return out
