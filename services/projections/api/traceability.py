"""`/projects/{id}/traceability`: per requirement, the evidence that carried it (JSON, CSV or
the manifest of artifact digests an auditor keeps beside the export)."""

from __future__ import annotations

from typing import Any, Literal

import orjson
from fastapi import APIRouter, HTTPException, Request, Response

from orchestrator.adapters.tokens import Principal
from services.projections import traceability, views
from services.projections.api import auth, tenancy
from services.projections.api.context import context
from services.projections.api.paging import json_response

router = APIRouter()


@router.get("/projects/{project_id}/traceability", response_model=dict[str, Any])
async def project_traceability(request: Request, project_id: str,
                               format: Literal["json", "csv", "manifest"] = "json",
                               caller: Principal = auth.READ) -> Response:
    await tenancy.visible(request, project_id, caller)
    row = await context(request).one(views.PROJECT_EVENTS, [project_id])
    rows = orjson.loads(row[0]) if row else []
    if not rows:
        raise HTTPException(404, f"no project {project_id}")
    reqs = traceability.trace(rows)
    body = orjson.dumps({"project_id": project_id, "requirements": reqs})
    if format == "csv":
        return Response(traceability.to_csv(reqs), media_type="text/csv")
    if format == "manifest":
        files = {"traceability.json": body, "traceability.csv": traceability.to_csv(reqs).encode()}
        return json_response(orjson.dumps(traceability.manifest(reqs, files)))
    return json_response(body)
