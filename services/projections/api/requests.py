"""`/requests/{request_id}`: everything one submission caused, with the evidence of each task."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, HTTPException, Request, Response

from orchestrator.adapters.tokens import Principal
from services.projections import causal, evidence, views
from services.projections.api import auth
from services.projections.api.context import context
from services.projections.api.paging import json_response

router = APIRouter()


@router.get("/requests/{request_id}", response_model=dict[str, Any])
async def request_(request: Request, request_id: str, caller: Principal = auth.READ) -> Response:
    row = await context(request).one(views.REQUEST, [request_id, auth.tenants(caller)] * 3)
    assert row is not None  # scalar subqueries: always one row
    events_json, tasks_json, rejected = row
    if events_json == "[]" and rejected is None:
        raise HTTPException(404, f"no request {request_id}")
    events = orjson.loads(events_json)
    return json_response(orjson.dumps({
        "request_id": request_id, "events": events,
        "tasks": evidence.by_task(events, orjson.loads(tasks_json)),
        "rejection": None if rejected is None else orjson.loads(rejected)}))


@router.get("/requests/{request_id}/tree", response_model=dict[str, Any])
async def request_tree(request: Request, request_id: str, caller: Principal = auth.READ) -> Response:
    """What one submission caused, each event under its cause (`causal.tree`)."""
    _events, roots, count, depth = await submission_tree(request, request_id, caller)
    head = orjson.dumps({"request_id": request_id, "events": count, "depth": depth})
    return json_response(head[:-1] + b',"roots":' + causal.dumps(roots) + b"}")


async def submission_tree(request: Request, request_id: str,
                          caller: Principal) -> tuple[list[dict[str, Any]], list[Any], int, int]:
    """The submission's events within the caller's tenants (404 when none), their causal tree,
    its node count and depth: what `/requests/{id}/tree` and the dashboard's tree page show."""
    row = await context(request).one(views.REQUEST, [request_id, auth.tenants(caller)] * 3)
    assert row is not None  # scalar subqueries: always one row
    events = orjson.loads(row[0])
    if not events:
        raise HTTPException(404, f"no request {request_id}")
    roots = causal.tree(events)
    count, depth = causal.size(roots)
    return events, roots, count, depth
