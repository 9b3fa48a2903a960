"""`POST /projects/{id}/pause|resume|cancel`: an operator's control, produced onto the log.

Scope `operate`: the API's tokens and scopes come with the auth work; until then
`OPERATE` names the scope these routes will require and checks nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel

from orchestrator import control
from services.projections.api.context import context

router = APIRouter()
OPERATE = "operate"
STATUS = "SELECT status, request_id FROM projects WHERE project_id = %s"


def requires(scope: str) -> Any:
    """The scope a route needs (placeholder until API tokens exist: everybody has it)."""
    def check() -> str:
        return scope
    return Depends(check)


class ControlBody(BaseModel):
    reason: str = ""


@router.post("/projects/{project_id}/{action}", status_code=202)
async def act(request: Request, project_id: str, action: str, body: ControlBody | None = None,
              _scope: str = requires(OPERATE)) -> dict[str, Any]:
    if action not in control.ACTIONS:
        raise HTTPException(404, f"no action {action!r}; known: {', '.join(control.ACTIONS)}")
    ctx = context(request)
    row = await ctx.one(STATUS, [project_id])
    if row is None:
        raise HTTPException(404, f"no project {project_id}")
    try:
        event = control.event(action, project_id, row[1], row[0], (body or ControlBody()).reason)
    except control.Refused as exc:
        raise HTTPException(409, str(exc)) from None
    _topic, partition, offset = await ctx.publisher().publish_one(event)
    return {"project_id": project_id, "event_id": event.event_id, "type": event.type,
            "partition": partition, "offset": offset}
