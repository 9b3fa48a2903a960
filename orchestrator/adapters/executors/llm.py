"""The `llm` executor: a model works the task through a small, bounded tool loop.

It speaks the OpenAI-compatible chat completions API, which vLLM, the llama.cpp server,
Ollama and hosted services all serve. Options, tools and outcomes: docs/executors.md,
section `llm`; the tools themselves: `llm_tools`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from orchestrator.adapters.config import Settings
from orchestrator.adapters.executors import llm_tools as tools
from orchestrator.adapters.executors import workspace as place
from orchestrator.adapters.executors.manual import outcome_of
from orchestrator.core.durations import parse_duration
from orchestrator.core.envelope import Attachment
from orchestrator.core.worker.work import Outcome, Usage, Work

RETRIES = 2

@dataclass(frozen=True)
class LlmRunner:
    options: dict[str, str]
    settings: Settings

    async def run(self, work: Work) -> Outcome:
        o = self.options
        try:
            base_url, model = o["base_url"].rstrip("/"), o["model"]
            max_steps = int(o.get("max_steps", "20"))
            timeout_s = parse_duration(o.get("timeout", "120s")) / 1000
            command_timeout_s = parse_duration(o.get("command_timeout", "5m")) / 1000
            prices = float(o.get("cost_in_per_1k", "0")), float(o.get("cost_out_per_1k", "0"))
            ws, shared = place.workspace(self.settings, work), place.project_dir(self.settings, work)
            allowed = (place.command_line(o["command"], work, ws, shared)
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
            pulled = await place.pull_project(self.settings, work, shared)
        except Exception as exc:
            return Outcome(False, f"pulling the project directory failed: {exc!r}")
        ws.mkdir(parents=True, exist_ok=True)
        session = tools.Session(shared.resolve(), allowed, command_timeout_s,
                          {**os.environ, **place.context_env(work, ws, shared)})
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": prompt(work, shared, o.get("command", ""))}]
        async with httpx.AsyncClient(timeout=timeout_s, headers=headers) as client:
            summary = await _loop(client, f"{base_url}/chat/completions", model, messages,
                                  session, max_steps)
        usage = Usage(session.tokens_in, session.tokens_out,
                      round(session.tokens_in * prices[0] / 1000 + session.tokens_out * prices[1] / 1000, 6))
        (ws / "transcript.json").write_text(json.dumps(messages, indent=2))
        attached = (*tools.files(session), Attachment("transcript.json", "application/json",
                                                 (ws / "transcript.json").read_bytes()))
        try:
            await place.push_project(self.settings, work, shared, pulled)
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
                session: tools.Session, max_steps: int) -> str:
    """Model calls until a verdict; the failure summary when there is none."""
    for _ in range(max_steps):
        try:
            answer = await _complete(client, url, {"model": model, "messages": messages,
                                                   "tools": tools.TOOLS, "tool_choice": "auto"})
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
            result = await tools.call(session, call)
            messages.append({"role": "tool", "tool_call_id": call.get("id", ""), "content": result})
        if session.verdict is not None:
            return ""
    return f"step limit: the model did not finish within {max_steps} steps"


async def _complete(client: httpx.AsyncClient, url: str, body: dict[str, Any]) -> dict[str, Any]:
    retrying = AsyncRetrying(stop=stop_after_attempt(RETRIES + 1), wait=wait_exponential(multiplier=0.5),
                             retry=retry_if_exception(_transient), reraise=True)
    response: httpx.Response = await retrying(_post, client, url, body)
    response.raise_for_status()
    answer: dict[str, Any] = response.json()
    return answer


async def _post(client: httpx.AsyncClient, url: str, body: dict[str, Any]) -> httpx.Response:
    response = await client.post(url, json=body)
    if response.status_code >= 500 or response.status_code == 429:
        response.raise_for_status()
    return response


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code >= 500 or exc.response.status_code == 429
    return isinstance(exc, httpx.TransportError)
