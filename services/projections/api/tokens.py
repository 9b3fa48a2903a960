"""`GET /tokens` (scope `admin`): the tokens sharing a tenant with the caller, never a secret."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from orchestrator.adapters import tokens
from orchestrator.adapters.tokens import Principal
from services.projections.api import auth
from services.projections.api.context import context
from services.projections.api.paging import json_response

router = APIRouter()
LIST = ("SELECT coalesce(json_agg(t ORDER BY t.created_at, t.token_id), '[]')::text FROM "
        f"(SELECT token_id, name, tenants, scopes, created_at, revoked_at FROM {tokens.TABLE} "
        "WHERE %s::text[] IS NULL OR tenants && %s::text[]) t")


@router.get("/tokens", response_model=dict[str, Any])
async def list_tokens(request: Request, caller: Principal = auth.ADMIN) -> Response:
    mine = None if caller is auth.OFF else list(caller.tenants)
    row = await context(request).one(LIST, [mine, mine])
    assert row is not None  # an aggregate: always one row
    return json_response(b'{"items":' + row[0].encode() + b"}")
