"""Write routes of the query API that settle a waiting claim (the callbacks channel).

- `POST /tasks/{task_id}/callback`: an HTTP agent's late result, authenticated by the
  per-claim token the `http` executor sent it; 403 for a wrong or expired token, 422 for
  a malformed body (nothing is published then).
- `POST /tasks/{task_id}/complete` and `/fail`: a person's verdict on a `manual` task;
  404 unknown task, 409 not a manual task waiting for a person.
Accepted verdicts answer 202 with the (attempt, round) they settle.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import psycopg
from fastapi import FastAPI, HTTPException
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from orchestrator import artifacts, callbacks
from orchestrator.config import Settings
from services.projections import verdicts


class InlineArtifact(BaseModel):
    name: str
    media_type: str = "application/octet-stream"
    content_b64: str


class CallbackBody(BaseModel):
    token: str
    attempt: int
    round: int
    ok: bool
    summary: str = ""
    failures: list[str] = Field(default_factory=list)
    smoke_ok: bool | None = None
    artifacts: list[InlineArtifact] = Field(default_factory=list)


class VerdictBody(BaseModel):
    note: str = ""
    failures: list[str] = Field(default_factory=list)
    artifacts: list[InlineArtifact] = Field(default_factory=list)


def add_task_routes(app: FastAPI, settings: Settings,
                    db: Callable[[], AbstractContextManager[psycopg.Connection[Any]]]) -> None:
    @app.post("/tasks/{task_id:path}/callback", status_code=202)
    async def callback(task_id: str, body: CallbackBody) -> dict[str, Any]:
        key = await run_in_threadpool(callbacks.secret, settings)
        why = callbacks.check_token(key, body.token, task_id, body.attempt, body.round, callbacks.now_ms())
        if why is not None:
            raise HTTPException(403, why)
        try:
            attached = callbacks.inline_attachments([a.model_dump() for a in body.artifacts])
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc

        def deliver() -> callbacks.Verdict:
            refs = tuple(artifacts.store(settings.artifacts, a) for a in attached)
            verdict = callbacks.Verdict(task_id, body.attempt, body.round, body.ok, body.summary, "http",
                                        tuple(body.failures), body.smoke_ok, refs)
            callbacks.publish(settings, verdict)
            return verdict

        verdict = await run_in_threadpool(deliver)
        return {"task_id": task_id, "attempt": verdict.attempt, "round": verdict.round, "accepted": True}

    def manual(task_id: str, body: VerdictBody, ok: bool) -> dict[str, Any]:
        if "\x00" in task_id:  # no task id has one, and PostgreSQL text cannot hold it
            raise HTTPException(404, "no such task")
        try:
            attached = callbacks.inline_attachments([a.model_dump() for a in body.artifacts])
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
        with db() as conn:
            try:
                verdict = verdicts.manual_verdict(conn, settings, task_id, ok, body.note, attached,
                                                  tuple(body.failures))
            except verdicts.Refused as exc:
                raise HTTPException(exc.status, str(exc)) from exc
        return {"task_id": task_id, "attempt": verdict.attempt, "round": verdict.round,
                "verdict": "complete" if ok else "fail",
                "artifacts": [{"name": r.name, "uri": r.uri, "sha256": r.sha256} for r in verdict.artifacts]}

    @app.post("/tasks/{task_id:path}/complete", status_code=202)
    def complete(task_id: str, body: VerdictBody | None = None) -> dict[str, Any]:
        return manual(task_id, body or VerdictBody(), True)

    @app.post("/tasks/{task_id:path}/fail", status_code=202)
    def fail(task_id: str, body: VerdictBody | None = None) -> dict[str, Any]:
        return manual(task_id, body or VerdictBody(), False)
