"""`/metrics/delivery`: the four DORA-style keys computed from the log (`delivery.metrics`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, HTTPException, Request, Response

from orchestrator.adapters.tokens import Principal
from services.projections import delivery, views
from services.projections.api import auth
from services.projections.api.context import context
from services.projections.api.paging import json_response

router = APIRouter()


@router.get("/metrics/delivery", response_model=dict[str, Any])
async def delivery_metrics(request: Request, project: str | None = None, since: datetime | None = None,
                           until: datetime | None = None, caller: Principal = auth.READ) -> Response:
    for name, at in (("since", since), ("until", until)):
        if at is not None and at.tzinfo is None:
            raise HTTPException(400, f"{name} needs a time zone")
    params = [list(delivery.TYPES), project, project, auth.tenants(caller)]
    row = await context(request).one(views.DELIVERY_EVENTS, params)
    rows = orjson.loads(row[0]) if row else []
    if project is not None and not rows:
        raise HTTPException(404, f"no delivery events of project {project}")
    return json_response(orjson.dumps(delivery.metrics(rows, since, until)))
