"""`/projects/{id}/chain`: the project's hash chain as the read model holds it, and its seals.

The read-model side of `orchestrator verify` (which also reads the log): the head and
length recomputed from the stored events, and for each `project.sealed` whether the
stored chain reaches its head.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, HTTPException, Request, Response

from orchestrator.adapters.tokens import Principal
from services.projections import chain
from services.projections.api import auth, tenancy
from services.projections.api.context import context
from services.projections.api.paging import json_response
from services.projections.seal import STORED

router = APIRouter()
ROWS = f"SELECT coalesce(json_agg(r), '[]')::text FROM ({STORED}) r"


@router.get("/projects/{project_id}/chain", response_model=dict[str, Any])
async def project_chain(request: Request, project_id: str, caller: Principal = auth.READ) -> Response:
    await tenancy.visible(request, project_id, caller)
    row = await context(request).one(ROWS, [project_id])
    rows = orjson.loads(row[0]) if row else []
    if not rows:
        raise HTTPException(404, f"no project {project_id}")
    links = chain.links(rows)
    seals = [{**r["payload"], "event_id": r["event_id"],
              "first_bad_link": chain.first_bad_against_seal(links, r["payload"]["head"],
                                                             r["payload"]["length"])}
             for r in rows if r["type"] == chain.SEAL]
    return json_response(orjson.dumps({
        "project_id": project_id, "length": len(links), "head": chain.head(links),
        "intact": all(s["first_bad_link"] is None for s in seals), "seals": seals,
        "links": [k._asdict() for k in links]}))
