"""Where a tenant's boundary shows in the API: another tenant's project is not found (404,
never 403, so it is not revealed), and a submission makes a project of one tenant the token
acts for."""

from __future__ import annotations

from fastapi import HTTPException, Request

from orchestrator.adapters.tokens import Principal
from services.projections import views
from services.projections.api.auth import OFF, tenants
from services.projections.api.context import context


async def visible(request: Request, project_id: str, caller: Principal) -> None:
    """404 unless the project exists for one of the caller's tenants (another tenant's
    project is not revealed)."""
    if await context(request).one(views.PROJECT_VISIBLE, [project_id, tenants(caller)]) is None:
        raise HTTPException(404, f"no project {project_id}")


def submitting_tenant(caller: Principal, asked: str | None, default: str) -> str:
    """Whose project a submission makes: the one asked for (403 unless the token holds it), or
    the token's only tenant (422 when it has several and none was asked for)."""
    if caller is OFF:
        return asked or default
    if asked is not None:
        if asked not in caller.tenants:
            raise HTTPException(403, f"this token does not act for tenant {asked!r}")
        return asked
    if len(caller.tenants) != 1:
        raise HTTPException(422, "this token acts for several tenants: name one with ?tenant=")
    return caller.tenants[0]
