"""The `http` executor: POST the task to an agent; the answer comes now or by callback.

Options, request and answer bodies, what is retried: docs/executors.md, section `http`.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
from dataclasses import dataclass
from typing import Any

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from orchestrator.adapters import callbacks, executors
from orchestrator.adapters.config import Settings
from orchestrator.adapters.executors.manual import await_verdict, outcome_of
from orchestrator.adapters.executors.workspace import work_json
from orchestrator.adapters.wallclock import now_ms
from orchestrator.core.durations import parse_duration
from orchestrator.core.envelope import Attachment
from orchestrator.core.worker.work import Outcome, Work

MAX_BACKOFF_S = 30.0
log = logging.getLogger("orchestrator.executors.http")


@dataclass(frozen=True)
class HttpRunner:
    options: dict[str, str]
    settings: Settings

    async def run(self, work: Work) -> Outcome:
        try:
            url = self.options["url"]
            timeout_s = parse_duration(self.options.get("timeout", "30s")) / 1000
            retries = int(self.options.get("retries", "4"))
            backoff_s = parse_duration(self.options.get("backoff", "500ms")) / 1000
            wait_ms = parse_duration(self.options.get("wait", "1h"))
            cancel_s = parse_duration(self.options.get("cancel_timeout", "5s")) / 1000
        except KeyError:
            return Outcome(False, "http executor misconfigured: option `url` is missing")
        except ValueError as exc:
            return Outcome(False, f"http executor misconfigured: {exc}")
        base = (self.options.get("callback_url") or os.environ.get("ORCH_CALLBACK_URL")
                or f"http://127.0.0.1:{self.settings.api_port}").rstrip("/")
        expires = now_ms() + wait_ms
        key = await asyncio.to_thread(callbacks.secret, self.settings)
        body = {"work": work_json(work), "callback": {
            "url": f"{base}/tasks/{work.task_id}/callback",
            "token": callbacks.token(key, work.task_id, work.attempt, work.round, expires),
            "expires_at": expires, "attempt": work.attempt, "round": work.round}}
        headers = {"Idempotency-Key": f"{work.task_id}#{work.attempt}.{work.round}"}
        retrying = AsyncRetrying(stop=stop_after_attempt(retries + 1), reraise=True,
                                 wait=wait_exponential(multiplier=backoff_s, max=MAX_BACKOFF_S),
                                 retry=retry_if_exception_type(_Retriable))
        try:
            async with httpx.AsyncClient(timeout=timeout_s) as client:
                try:
                    response: httpx.Response = await retrying(_post, client, url, body, headers)
                except _Retriable as exc:
                    return Outcome(False, f"agent {url} failed after {retries + 1} tries; last: {exc}")
            if response.status_code == 200:
                return _answer(work, response)
            if response.status_code == 202:
                return await await_verdict(self.settings, work, wait_ms / 1000, f"agent {url}")
        except asyncio.CancelledError:
            cancel_url = self.options.get("cancel_url")
            if cancel_url and executors.stopped():
                # in a thread: the run is cancelled, so its own awaits would be too
                await asyncio.to_thread(tell_cancelled, cancel_url, work, headers, cancel_s)
            raise
        return Outcome(False, f"agent {url} refused the task (HTTP {response.status_code}: "
                              f"{response.text[:200]}); not retried")


def tell_cancelled(cancel_url: str, work: Work, headers: dict[str, str], timeout_s: float) -> bool:
    """Best effort: POST the stopped claim to the agent's `cancel_url`, once, within
    `timeout_s`; a failure is logged, never raised (the task is cancelled either way)."""
    body = {"task_id": work.task_id, "project_id": work.project_id, "attempt": work.attempt,
            "round": work.round}
    try:
        response = httpx.post(cancel_url, json=body, headers=headers, timeout=timeout_s)
    except httpx.HTTPError as exc:
        log.warning("cancel of %s at %s failed: %s: %s", work.task_id, cancel_url, type(exc).__name__, exc)
        return False
    if response.status_code >= 300:
        log.warning("cancel of %s at %s answered HTTP %s", work.task_id, cancel_url, response.status_code)
        return False
    return True


class _Retriable(Exception):
    """A 5xx, a 429 or a transport error (connect, read, timeout): worth another try."""


async def _post(client: httpx.AsyncClient, url: str, body: dict[str, Any],
                headers: dict[str, str]) -> httpx.Response:
    try:
        response = await client.post(url, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise _Retriable(f"{type(exc).__name__}: {exc}") from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise _Retriable(f"HTTP {response.status_code}: {response.text[:200]}")
    return response


def _answer(work: Work, response: httpx.Response) -> Outcome:
    try:
        result = response.json()
        ok, summary, failures, smoke_ok, attached = parse_result(result)
    except ValueError as exc:
        return Outcome(False, f"agent answered 200 with a malformed result: {exc}")
    return outcome_of(work, ok, summary, failures, smoke_ok, attached)


def parse_result(result: Any) -> tuple[bool, str, tuple[str, ...], bool | None, tuple[Attachment, ...]]:
    """The agent's result body; ValueError when it is not the documented shape."""
    if not isinstance(result, dict) or not isinstance(result.get("ok"), bool):
        raise ValueError('expected an object with a boolean "ok"')
    failures = result.get("failures") or []
    smoke = result.get("smoke_ok")
    if not isinstance(failures, list) or (smoke is not None and not isinstance(smoke, bool)):
        raise ValueError('"failures" must be a list and "smoke_ok" a boolean or null')
    attached = tuple(callbacks.inline_attachments(result.get("artifacts")))
    return (result["ok"], str(result.get("summary") or ""), tuple(str(f) for f in failures),
            smoke, attached)


def encode_artifact(name: str, media_type: str, content: bytes) -> dict[str, str]:
    """How an agent inlines an artifact in its result (a helper for agents and tests)."""
    return {"name": name, "media_type": media_type, "content_b64": base64.b64encode(content).decode()}
