"""`POST /specs`: the raw document onto the ingestion topic, answered with a position token."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from orchestrator.adapters import client
from orchestrator.adapters.tokens import Principal
from orchestrator.core.position import Token
from services.projections.api import auth, tenancy
from services.projections.api.context import context

router = APIRouter()


@router.post("/specs", status_code=202)
async def submit(request: Request, filename: str | None = None, tenant: str | None = None,
                 caller: Principal = auth.SUBMIT) -> dict[str, str]:
    ctx = context(request)
    owner = tenancy.submitting_tenant(caller, tenant, ctx.settings.default_tenant)
    limit = ctx.settings.max_spec_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"spec larger than {limit} bytes")
    document = await request.body()
    if len(document) > limit:
        raise HTTPException(413, f"spec larger than {limit} bytes")
    if not document.strip():
        raise HTTPException(422, "empty spec")
    event = client.submission(document, filename, tenant=owner)
    where = await ctx.publisher().publish_one(event)
    return {"request_id": event.request_id, "event_id": event.event_id, "tenant": owner,
            "position": Token(*where, request_id=event.request_id).encode()}
