"""Who may call which route: bearer tokens with scopes, and a rate limit on writes.

401 (with `WWW-Authenticate: Bearer`) without a token or with one that is unknown, malformed
or revoked; 403 with a valid token lacking the route's scope; 429 with `Retry-After` when a
token writes faster than `ORCH_API_WRITE_RATE`. `/healthz` and `/readyz` take no token;
`/metrics` takes none when `ORCH_API_METRICS_OPEN` is set. Who a token is: verifier; the
dashboard's session cookie and its CSRF field: cookies; tenants' boundaries: tenancy.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from orchestrator.adapters import tokens
from orchestrator.adapters.tokens import Principal
from services.projections.api.context import context
from services.projections.api.cookies import form_session, presented
from services.projections.api.verifier import verified

bearer = HTTPBearer(auto_error=False, description="`orch_<id>_<secret>` from `orchestrator tokens create`")
OFF = Principal("anonymous", (), frozenset(tokens.SCOPES))
UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}
BEARER: Any = Depends(bearer)


def require(scope: str, write: bool = False, form: bool = False) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the caller's principal, holding `scope` (and within its write rate). With
    `form` (the dashboard's forms), the session cookie too, checked by `form_session`."""

    async def dependency(request: Request,
                         credentials: HTTPAuthorizationCredentials | None = BEARER) -> Principal:
        ctx = context(request)
        if ctx.settings.api_auth == "off":
            return OFF
        raw = presented(request, credentials)
        if raw is None and form:
            raw = await form_session(request)
        if raw is None:
            raise HTTPException(401, "a bearer token is required", headers=UNAUTHORIZED)
        cache = verified(request)
        found = await cache.principal(ctx, raw)
        if found is None:
            raise HTTPException(401, "unknown, malformed or revoked token", headers=UNAUTHORIZED)
        if scope not in found.scopes:
            raise HTTPException(403, f"this token lacks the {scope!r} scope")
        if write and (wait := cache.spend(ctx, found.subject)):
            raise HTTPException(429, "too many writes with this token",
                                headers={"Retry-After": str(max(1, math.ceil(wait)))})
        return found

    return dependency


def tenants(caller: Principal) -> list[str] | None:
    """The tenants a read is limited to; None (all) only with authentication off."""
    return None if caller is OFF else list(caller.tenants)


READ: Any = Depends(require("read"))
SUBMIT: Any = Depends(require("submit", write=True))
OPERATE: Any = Depends(require("operate", write=True))
FORM_OPERATE: Any = Depends(require("operate", write=True, form=True))
ADMIN: Any = Depends(require("admin"))


async def metrics_allowed(request: Request,
                          credentials: HTTPAuthorizationCredentials | None = BEARER) -> None:
    if not context(request).settings.api_metrics_open:
        await require("read")(request, credentials)


METRICS: Any = Depends(metrics_allowed)
