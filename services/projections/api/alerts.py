"""`/alerts`, newest last, filtered by project, severity or kind."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from orchestrator.adapters.tokens import Principal
from services.projections import views
from services.projections.api import auth
from services.projections.api.context import context
from services.projections.api.paging import Limit, decode_cursor, page

router = APIRouter()


@router.get("/alerts", response_model=dict[str, Any])
async def alerts(request: Request, project_id: str | None = None, severity: str | None = None,
                 kind: str | None = None, limit: int = Limit, cursor: str | None = None,
                 caller: Principal = auth.READ) -> Response:
    query, params = views.page("alerts", {"project_id": project_id, "severity": severity, "kind": kind},
                               decode_cursor(cursor, 2), limit, tenants=auth.tenants(caller))
    return page(await context(request).one(query, params), limit)
