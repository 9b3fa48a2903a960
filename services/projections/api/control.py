"""An operator's controls, produced onto the log (orchestrator/core/control.py builds them).

- `POST /projects/{id}/pause|resume|cancel`, `POST /projects/{id}/modules/{area}/pause|resume|cancel`;
- `GET /approvals` (scope `read`), `POST /approvals/{id}/grant|reject`;
- `POST /tasks/{id}/reassign {executor: {kind, options}}`: a hand-off.
Writes take scope `operate`, on a project of one of the token's tenants (another tenant's
is a 404); an action that does not apply as things stand is a 409. The dashboard's board
posts the project and module actions as forms (`dashboard.control_form` through `apply`,
`dashboard.module_control_form` through `apply_module`), its approval and task pages the
answers and hand-offs (`dashboard.answer_form` through `answer_approval`,
`dashboard.handoff_form` through `hand_off`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field

from orchestrator.adapters.tokens import Principal
from orchestrator.adapters.wallclock import now_ms
from orchestrator.core import control
from orchestrator.core.envelope import Event
from services.projections import views
from services.projections.api import auth
from services.projections.api.context import Context, context
from services.projections.api.paging import Limit, decode_cursor, page

router = APIRouter()


class ControlBody(BaseModel):
    reason: str = ""


@router.post("/projects/{project_id}/{action}", status_code=202)
async def act(request: Request, project_id: str, action: str, body: ControlBody | None = None,
              caller: Principal = auth.OPERATE) -> dict[str, Any]:
    return await apply(context(request), project_id, action, (body or ControlBody()).reason, caller)


async def apply(ctx: Context, project_id: str, action: str, reason: str, caller: Principal) -> dict[str, Any]:
    """The action's event produced onto the log (404 unknown action or project, 409 refused)."""
    if action not in control.ACTIONS:
        raise HTTPException(404, f"no action {action!r}; known: {', '.join(control.ACTIONS)}")
    return await _publish(ctx, views.PROJECT_CONTROL, project_id, caller, "project",
                          lambda row: control.event(action, project_id, row["request_id"],
                                                    row["status"], reason, now_ms=now_ms(),
                                                    tenant=row.get("tenant")))


@router.post("/projects/{project_id}/modules/{module}/{action}", status_code=202)
async def act_on_module(request: Request, project_id: str, module: str, action: str,
                        body: ControlBody | None = None,
                        caller: Principal = auth.OPERATE) -> dict[str, Any]:
    """One module's pause, resume or cancel (404 unknown action, project or module; 409 refused)."""
    return await apply_module(context(request), project_id, module, action,
                              (body or ControlBody()).reason, caller)


async def apply_module(ctx: Context, project_id: str, module: str, action: str, reason: str,
                       caller: Principal) -> dict[str, Any]:
    """The module action's event produced onto the log (404 unknown action, project or module,
    409 refused): the API route's and the dashboard form's one path."""
    if action not in control.MODULE_ACTIONS:
        raise HTTPException(404, f"no action {action!r}; known: {', '.join(control.MODULE_ACTIONS)}")
    return await _publish(ctx, views.MODULE_CONTROL, project_id, caller, f"module {module} in project",
                          lambda row: control.module_event(action, row, reason, now_ms=now_ms()), module)


# -- approvals and hand-offs ------------------------------------------------------------


@router.get("/approvals", response_model=dict[str, Any])
async def approvals(request: Request, project_id: str | None = None, status: str | None = None,
                    limit: int = Limit, cursor: str | None = None,
                    caller: Principal = auth.READ) -> Response:
    """The approvals asked, oldest first; `status=pending` lists those waiting for a person."""
    query, params = views.page("approvals", {"project_id": project_id, "status": status},
                               decode_cursor(cursor, 2), limit, tenants=auth.tenants(caller))
    return page(await context(request).one(query, params), limit)


async def _publish(ctx: Context, read: str, key: str, caller: Principal, what: str,
                   build: Callable[[dict[str, Any]], Event], *more: str) -> dict[str, Any]:
    """Check `key`'s row (`read`, keyed by `key` and `more`) within the caller's tenants,
    build the event, produce it."""
    row = await ctx.one(read, [key, *more, auth.tenants(caller)])
    if row is None:
        raise HTTPException(404, f"no {what} {key}")
    try:
        event = build(json.loads(row[0]))
    except control.Refused as exc:
        raise HTTPException(409, str(exc)) from None
    _topic, partition, offset = await ctx.publisher().publish_one(event)
    return {"project_id": event.project_id, "event_id": event.event_id, "type": event.type,
            "partition": partition, "offset": offset}


@router.post("/approvals/{approval_id}/{action}", status_code=202)
async def answer(request: Request, approval_id: str, action: str, body: ControlBody | None = None,
                 caller: Principal = auth.OPERATE) -> dict[str, Any]:
    return await answer_approval(context(request), approval_id, action, (body or ControlBody()).reason,
                                 caller)


async def answer_approval(ctx: Context, approval_id: str, action: str, reason: str,
                          caller: Principal) -> dict[str, Any]:
    """The answer's event produced onto the log (404 unknown action or approval, 409 refused):
    the API route's and the dashboard form's one path."""
    if action not in control.ANSWERS:
        raise HTTPException(404, f"no action {action!r}; known: {', '.join(control.ANSWERS)}")
    return await _publish(ctx, views.APPROVAL, approval_id, caller, "approval",
                          lambda row: control.answer(action, row, reason, now_ms=now_ms()))


class ExecutorBody(BaseModel):
    kind: str
    options: dict[str, str] = Field(default_factory=dict)


class ReassignBody(BaseModel):
    executor: ExecutorBody
    reason: str = ""


@router.post("/tasks/{task_id:path}/reassign", status_code=202)
async def reassign(request: Request, task_id: str, body: ReassignBody,
                   caller: Principal = auth.OPERATE) -> dict[str, Any]:
    """Hand the task to another executor: a running claim is superseded by a new round."""
    return await hand_off(context(request), task_id, body.executor.kind, body.executor.options,
                          body.reason, caller)


async def hand_off(ctx: Context, task_id: str, kind: str, options: dict[str, str], reason: str,
                   caller: Principal) -> dict[str, Any]:
    """The hand-off's event produced onto the log (404 unknown task, 409 refused): the API
    route's and the dashboard form's one path."""
    return await _publish(ctx, views.HANDOFF, task_id, caller, "task",
                          lambda row: control.reassign(row, kind, options, reason, now_ms=now_ms()))


async def handoff_row(ctx: Context, task_id: str, caller: Principal) -> dict[str, Any] | None:
    """The task as a hand-off is checked against (`views.HANDOFF`), None when not the caller's:
    what the task page asks `control.handoff_refusal` before offering the form."""
    row = await ctx.one(views.HANDOFF, [task_id, auth.tenants(caller)])
    return None if row is None else dict(json.loads(row[0]))
