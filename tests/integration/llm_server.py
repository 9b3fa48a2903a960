"""A deterministic OpenAI-compatible chat completions server for tests (no model runs here).

Each `model` name is a script: the answer to a request is the script's entry numbered by
how many assistant messages the conversation already holds (the last entry repeats), so
the server keeps no session and a retried request gets the same answer. Every request
is recorded per model, so a test can read the tool results the executor sent back.
"""

from __future__ import annotations

import json
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


class ScriptedModel:
    def __init__(self, scripts: dict[str, list[dict[str, Any]]]) -> None:
        self.scripts = scripts
        self.requests: dict[str, list[dict[str, Any]]] = {}
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


def _json(code: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status_code=code, media_type="application/json")
