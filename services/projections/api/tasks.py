"""`/tasks/{id}` with its events, and the writes that settle a waiting claim.

- `POST /tasks/{task_id}/callback`: an HTTP agent's late result, authenticated by the
  per-claim token the `http` executor sent it; 403 for a wrong or expired token, 422 for
  a malformed body (nothing is published then).
- `POST /tasks/{task_id}/complete` and `/fail`: a person's verdict on a `manual` task;
  404 unknown task, 409 not a manual task waiting for a person.
Accepted verdicts answer 202 with the (attempt, round) they settle and a position token.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from orchestrator.adapters import artifacts, callbacks, wallclock
from orchestrator.adapters.tokens import Principal
from orchestrator.core.position import Token
from services.projections import verdicts, views
from services.projections.api import auth
from services.projections.api.context import Context, context
from services.projections.api.paging import json_response

router = APIRouter()
writes = APIRouter()  # registered after the other reads: the document keeps its order


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


@router.get("/tasks/{task_id:path}", response_model=dict[str, Any])
async def task(request: Request, task_id: str, caller: Principal = auth.READ) -> Response:
    row = await context(request).one(views.TASK, [task_id, auth.tenants(caller)])
    if row is None:
        raise HTTPException(404, f"no task {task_id}")
    return json_response(row[0].encode())


def _position(where: tuple[str, int, int], verdict: callbacks.Verdict) -> str:
    return Token(*where, task=(verdict.task_id, verdict.attempt, verdict.round)).encode()


@writes.post("/tasks/{task_id:path}/callback", status_code=202)
async def callback(request: Request, task_id: str, body: CallbackBody) -> dict[str, Any]:
    settings = context(request).settings
    key = await run_in_threadpool(callbacks.secret, settings)
    why = callbacks.check_token(key, body.token, task_id, body.attempt, body.round, wallclock.now_ms())
    if why is not None:
        raise HTTPException(403, why)
    try:
        attached = callbacks.inline_attachments([a.model_dump() for a in body.artifacts])
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc

    def deliver() -> tuple[callbacks.Verdict, str]:
        refs = tuple(artifacts.store(settings.artifacts, a) for a in attached)
        verdict = callbacks.Verdict(task_id, body.attempt, body.round, body.ok, body.summary, "http",
                                    tuple(body.failures), body.smoke_ok, refs)
        return verdict, _position(callbacks.publish(settings, verdict), verdict)

    verdict, position = await run_in_threadpool(deliver)
    return {"task_id": task_id, "attempt": verdict.attempt, "round": verdict.round, "accepted": True,
            "position": position}


def _manual(ctx: Context, task_id: str, body: VerdictBody, ok: bool, caller: Principal) -> dict[str, Any]:
    if "\x00" in task_id:  # no task id has one, and PostgreSQL text cannot hold it
        raise HTTPException(404, "no such task")
    try:
        attached = callbacks.inline_attachments([a.model_dump() for a in body.artifacts])
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    with views.connect(ctx.dsn, ctx.schema, autocommit=True, connect_timeout=5) as conn:
        if views.fetch(conn, views.TASK, [task_id, auth.tenants(caller)]) is None:
            raise HTTPException(404, f"no task {task_id}")  # another tenant's task is not there
        try:
            verdict, where = verdicts.manual_verdict(conn, ctx.settings, task_id, ok, body.note, attached,
                                                     tuple(body.failures))
        except verdicts.Refused as exc:
            raise HTTPException(exc.status, str(exc)) from exc
    return {"task_id": task_id, "attempt": verdict.attempt, "round": verdict.round,
            "verdict": "complete" if ok else "fail",
            "artifacts": [{"name": r.name, "uri": r.uri, "sha256": r.sha256} for r in verdict.artifacts],
            "position": _position(where, verdict)}


@writes.post("/tasks/{task_id:path}/complete", status_code=202)
def complete(request: Request, task_id: str, body: VerdictBody | None = None,
             caller: Principal = auth.OPERATE) -> dict[str, Any]:
    return _manual(context(request), task_id, body or VerdictBody(), True, caller)


@writes.post("/tasks/{task_id:path}/fail", status_code=202)
def fail(request: Request, task_id: str, body: VerdictBody | None = None,
         caller: Principal = auth.OPERATE) -> dict[str, Any]:
    return _manual(context(request), task_id, body or VerdictBody(), False, caller)
