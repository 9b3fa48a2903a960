"""`/org` and `/projects/{id}/org`: the org chart the CTO's role.hired / role.released draw,
with the service instances that acted for each role."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from orchestrator.adapters.tokens import Principal
from services.projections import views
from services.projections.api import auth, tenancy
from services.projections.api.context import context
from services.projections.api.paging import json_response

router = APIRouter()


@router.get("/org", response_model=dict[str, Any])
async def org(request: Request, area: str | None = None, caller: Principal = auth.READ) -> Response:
    """Per role and area: how many projects it serves now and has served; per instance: the
    projects it acted in, its events and when it was last seen."""
    return json_response(orjson.dumps(await summary(request, area, caller)))


async def summary(request: Request, area: str | None, caller: Principal) -> dict[str, Any]:
    """`/org`'s answer: the route's and the dashboard's org page's one read."""
    mine = auth.tenants(caller)
    row = await context(request).one(views.ORG, [mine, area, area, mine, area, area])
    return dict(orjson.loads(row[0])) if row else {}


@router.get("/projects/{project_id}/org", response_model=dict[str, Any])
async def project_org(request: Request, project_id: str, caller: Principal = auth.READ) -> Response:
    """Each role hired for the project, hired or released, and the instances that served it."""
    roles = await project_roles(request, project_id, caller)
    return json_response(orjson.dumps({"project_id": project_id, "roles": roles}))


async def project_roles(request: Request, project_id: str, caller: Principal) -> list[dict[str, Any]]:
    """The project's roles (404 when not the caller's): the route's and the board's org section's one read."""
    mine = auth.tenants(caller)
    row = await context(request).one(views.PROJECT_ORG, [project_id, mine])
    if row is None or row[0] == "[]":
        await tenancy.visible(request, project_id, caller)
    return list(orjson.loads(row[0])) if row else []
