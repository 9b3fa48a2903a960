"""`POST /projects/{id}/pause|resume|cancel`: an operator's control, produced onto the log.

Scope `operate`, on a project of one of the token's tenants (another tenant's is a 404).
The dashboard's board posts the same actions as forms (`dashboard.control_form`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel

from orchestrator import control
from orchestrator.tokens import Principal
from services.projections import views
from services.projections.api import auth
from services.projections.api.context import Context, context

router = APIRouter()
STATUS = f"SELECT status, request_id FROM projects WHERE project_id = %s AND {views.SCOPED}"


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
    row = await ctx.one(STATUS, [project_id, auth.tenants(caller)])
    if row is None:
        raise HTTPException(404, f"no project {project_id}")
    try:
        event = control.event(action, project_id, row[1], row[0], reason)
    except control.Refused as exc:
        raise HTTPException(409, str(exc)) from None
    _topic, partition, offset = await ctx.publisher().publish_one(event)
    return {"project_id": project_id, "event_id": event.event_id, "type": event.type,
            "partition": partition, "offset": offset}
