"""`/projects`, `/projects/{id}` with its modules, and a project's tasks and events."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response

from orchestrator.tokens import Principal
from services.projections import views
from services.projections.api import auth
from services.projections.api.context import context
from services.projections.api.paging import Limit, decode_cursor, json_response, page

router = APIRouter()
Doc = dict[str, Any]  # what the OpenAPI document says each route answers


@router.get("/projects", response_model=Doc)
async def projects(request: Request, limit: int = Limit, cursor: str | None = None,
                   caller: Principal = auth.READ) -> Response:
    query, params = views.page("projects", {}, decode_cursor(cursor, 1), limit, tenants=auth.tenants(caller))
    return page(await context(request).one(query, params), limit)


@router.get("/projects/{project_id}", response_model=Doc)
async def project(request: Request, project_id: str, caller: Principal = auth.READ) -> Response:
    row = await context(request).one(views.PROJECT, [project_id, auth.tenants(caller)])
    if row is None:
        raise HTTPException(404, f"no project {project_id}")
    return json_response(row[0].encode())


@router.get("/projects/{project_id}/tasks", response_model=Doc)
async def project_tasks(request: Request, project_id: str, status: str | None = None,
                        role: str | None = None, area: str | None = None, limit: int = Limit,
                        cursor: str | None = None, caller: Principal = auth.READ) -> Response:
    mine = auth.tenants(caller)
    query, params = views.page("tasks", {"project_id": project_id, "status": status, "role": role,
                                         "area": area}, decode_cursor(cursor, 1), limit,
                               also=views.PROJECT_EXISTS, tenants=mine)
    return _of_project(await context(request).one(query, [*params, project_id, mine]), project_id, limit)


@router.get("/projects/{project_id}/events", response_model=Doc)
async def project_events(request: Request, project_id: str, limit: int = Limit,
                         cursor: str | None = None, caller: Principal = auth.READ) -> Response:
    mine = auth.tenants(caller)
    query, params = views.page("events", {"project_id": project_id}, decode_cursor(cursor, 2), limit,
                               also=views.PROJECT_EXISTS, tenants=mine)
    return _of_project(await context(request).one(query, [*params, project_id, mine]), project_id, limit)


def _of_project(row: tuple[Any, ...] | None, project_id: str, limit: int) -> Response:
    if row is None or not row[0]:
        raise HTTPException(404, f"no project {project_id}")
    return page(row, limit)
