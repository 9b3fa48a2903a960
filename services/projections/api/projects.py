"""`/projects`, `/projects/{id}` with its modules, and a project's tasks and events."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, HTTPException, Query, Request, Response

from orchestrator.adapters.tokens import Principal
from services.projections import timetravel, views
from services.projections.api import auth, tenancy
from services.projections.api.context import context
from services.projections.api.paging import Limit, decode_cursor, json_response, page
from services.projections.rowset import Rows

router = APIRouter()
Doc = dict[str, Any]  # what the OpenAPI document says each route answers


@router.get("/projects", response_model=Doc)
async def projects(request: Request, limit: int = Limit, cursor: str | None = None,
                   caller: Principal = auth.READ) -> Response:
    query, params = views.page("projects", {}, decode_cursor(cursor, 1), limit, tenants=auth.tenants(caller))
    return page(await context(request).one(query, params), limit)


AsOf = Query(None, description="an ISO time with a zone, or a log position (offset or partition:offset): "
                                "the project as it was then, folded from its events")


@router.get("/projects/{project_id}", response_model=Doc)
async def project(request: Request, project_id: str, as_of: str | None = AsOf,
                  caller: Principal = auth.READ) -> Response:
    if as_of is not None:
        await tenancy.visible(request, project_id, caller)
        found = timetravel.project(await _past(request, project_id, as_of), project_id)
        if found is None:
            raise HTTPException(404, f"no project {project_id} as of {as_of}")
        return json_response(orjson.dumps(found))
    row = await context(request).one(views.PROJECT, [project_id, auth.tenants(caller)])
    if row is None:
        raise HTTPException(404, f"no project {project_id}")
    return json_response(row[0].encode())


@router.get("/projects/{project_id}/tasks", response_model=Doc)
async def project_tasks(request: Request, project_id: str, status: str | None = None,
                        role: str | None = None, area: str | None = None, limit: int = Limit,
                        cursor: str | None = None, as_of: str | None = AsOf,
                        caller: Principal = auth.READ) -> Response:
    mine = auth.tenants(caller)
    if as_of is not None:  # the past is small: all its tasks in one page, filters applied
        await tenancy.visible(request, project_id, caller)
        wanted = {"status": status, "role": role, "area": area}
        items = [t for t in timetravel.tasks(await _past(request, project_id, as_of), project_id)
                 if all(v is None or t[k] == v for k, v in wanted.items())]
        return json_response(orjson.dumps({"items": items, "next_cursor": None}))
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


async def _past(request: Request, project_id: str, as_of: str) -> Rows:
    """The project's read-model rows as of `as_of` (400 for a value that is neither)."""
    try:
        cutoff = timetravel.parse(as_of)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    row = await context(request).one(views.PROJECT_EVENTS, [project_id])
    events = orjson.loads(row[0]) if row else []
    if not events:
        raise HTTPException(404, f"no project {project_id}")
    return timetravel.fold(events, cutoff)
