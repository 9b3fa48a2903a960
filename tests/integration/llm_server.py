"""A deterministic OpenAI-compatible chat completions server for tests (no model runs here).

Each `model` name is a script: the answer to a request is the script's entry numbered by
how many assistant messages the conversation already holds (the last entry repeats), so
the server keeps no session and a retried request gets the same answer. Every request
is recorded per model, so a test can read the tool results the executor sent back. An
entry made `late` is answered only after a delay, or never if the client hangs up first
(counted per model in `abandoned`): a run that is still waiting when it is stopped.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from fastapi import FastAPI, Request, Response


def say(text: str, tokens_in: int = 10, tokens_out: int = 5) -> dict[str, Any]:
    """An answer without tool calls: the model is done."""
    return {"message": {"role": "assistant", "content": text}, "usage": (tokens_in, tokens_out)}


def call(name: str, tokens_in: int = 10, tokens_out: int = 5, **arguments: Any) -> dict[str, Any]:
    """An answer calling one tool."""
    tool_call = {"id": f"call-{name}", "type": "function",
                 "function": {"name": name, "arguments": json.dumps(arguments)}}
    return {"message": {"role": "assistant", "content": None, "tool_calls": [tool_call]},
            "usage": (tokens_in, tokens_out)}


def late(entry: dict[str, Any], seconds: float) -> dict[str, Any]:
    """`entry`, answered `seconds` after the request arrives: the model is still thinking."""
    return {**entry, "delay": seconds}


class ScriptedModel:
    def __init__(self, scripts: dict[str, list[dict[str, Any]]]) -> None:
        self.scripts = scripts
        self.requests: dict[str, list[dict[str, Any]]] = {}
        self.abandoned: dict[str, int] = {}  # late answers whose client hung up before them
        self.app = FastAPI()

        @self.app.post("/v1/chat/completions")
        async def complete(request: Request) -> Response:
            body = await request.json()
            model = body.get("model", "")
            self.requests.setdefault(model, []).append(body)
            script = self.scripts.get(model)
            if not script:
                return _json(404, {"error": {"message": f"model {model!r} not found"}})
            step = sum(1 for m in body["messages"] if m.get("role") == "assistant")
            entry = script[min(step, len(script) - 1)]
            if not await _waited(request, float(entry.get("delay", 0))):
                self.abandoned[model] = self.abandoned.get(model, 0) + 1
                return _json(499, {"error": {"message": "client closed the request"}})
            tokens_in, tokens_out = entry["usage"]
            return _json(200, {
                "id": f"cmpl-{step}", "object": "chat.completion", "model": model,
                "choices": [{"index": 0, "message": entry["message"],
                             "finish_reason": "tool_calls" if "tool_calls" in entry["message"] else "stop"}],
                "usage": {"prompt_tokens": tokens_in, "completion_tokens": tokens_out,
                          "total_tokens": tokens_in + tokens_out}})

    def tool_results(self, model: str) -> list[str]:
        """The tool results of the model's last conversation, in order."""
        last = self.requests[model][-1]["messages"]
        return [m["content"] for m in last if m.get("role") == "tool"]


async def _waited(request: Request, seconds: float) -> bool:
    """Sleep `seconds` unless the client disconnects first (then False): a stopped run's
    request does not hold the server, nor its shutdown, for the whole delay."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        if await request.is_disconnected():
            return False
        await asyncio.sleep(min(0.05, max(until - time.monotonic(), 0)))
    return True


def _json(code: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status_code=code, media_type="application/json")
