"""Who may call which route: bearer tokens with scopes, and a rate limit on writes.

401 (with `WWW-Authenticate: Bearer`) without a token or with one that is unknown, malformed
or revoked; 403 with a valid token lacking the route's scope; 429 with `Retry-After` when a
token writes faster than `ORCH_API_WRITE_RATE`. `/healthz` and `/readyz` take no token;
`/metrics` takes none when `ORCH_API_METRICS_OPEN` is set. A verified token is cached for
`ORCH_API_TOKEN_CACHE_S` seconds, so a revocation takes effect within that time. A bearer
that is not an opaque token is tried as a JWT of the configured OIDC issuer (`oidc`).

The dashboard's session cookie (`COOKIE`, set by its sign-in page) holds the same token and
stands for the bearer on reads (GET, HEAD) only; of the writes, only the dashboard's own
forms take it, with a CSRF field that only a page served to the session holds.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import psycopg
from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from orchestrator.adapters import oidc, tokens
from orchestrator.adapters.tokens import Principal
from services.projections import views
from services.projections.api.context import Context, context

bearer = HTTPBearer(auto_error=False, description="`orch_<id>_<secret>` from `orchestrator tokens create`")
OFF = Principal("anonymous", (), frozenset(tokens.SCOPES))
UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}
BEARER: Any = Depends(bearer)
COOKIE = "orch_session"
SAFE = frozenset({"GET", "HEAD"})


class Verified:
    """Per-process cache of verified tokens and the write buckets of each token."""

    def __init__(self) -> None:
        self.seen: dict[str, tuple[float, Principal]] = {}
        self.buckets: dict[str, tuple[float, float]] = {}  # subject -> (tokens left, at)

    async def principal(self, ctx: Context, raw: str) -> Principal | None:
        now = time.monotonic()
        hit = self.seen.get(raw)
        if hit is not None and now - hit[0] < ctx.settings.api_token_cache_s:
            return hit[1]
        parsed = tokens.parse(raw)
        if parsed is None:  # not one of ours: perhaps a JWT of the configured issuer
            found = await run_in_threadpool(oidc.principal, ctx.settings, raw)
            if found is not None:
                self.seen[raw] = (now, found)
            return found
        try:
            row = await ctx.one(tokens.LOOKUP, [parsed[0]])
        except psycopg.errors.UndefinedTable:  # no token was ever made here: none is valid
            row = None
        found = tokens.check(parsed[1], row, parsed[0])
        if found is None:
            self.seen.pop(raw, None)
        else:
            self.seen[raw] = (now, found)
        return found

    def spend(self, ctx: Context, subject: str) -> float:
        """0 when a write may go now, else the seconds until it may."""
        rate, burst = ctx.settings.api_write_rate, float(ctx.settings.api_write_burst)
        now = time.monotonic()
        left, at = self.buckets.get(subject, (burst, now))
        left = min(burst, left + (now - at) * rate)
        if left < 1:
            self.buckets[subject] = (left, now)
            return (1 - left) / rate
        self.buckets[subject] = (left - 1, now)
        return 0.0


def verified(request: Request) -> Verified:
    found: Verified | None = getattr(request.app.state, "verified", None)
    if found is None:
        found = request.app.state.verified = Verified()
    return found


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


def presented(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str | None:
    """The bearer token, else on a read the session cookie's."""
    if credentials is not None:
        return credentials.credentials
    return request.cookies.get(COOKIE) if request.method in SAFE else None


def same_origin(request: Request) -> None:
    """403 for a form posted from a page of another site (browsers send `Origin` on a POST)."""
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise HTTPException(403, "a form of another site")


async def form_fields(request: Request) -> dict[str, str]:
    fields = parse_qs((await request.body()).decode("utf-8", "replace"))
    return {k: v[-1] for k, v in fields.items()}


async def form_session(request: Request) -> str | None:
    """The session cookie's token on a dashboard form's POST: only from this site, and with
    the CSRF field of this session (403 without)."""
    raw = request.cookies.get(COOKIE)
    if raw is None:
        return None
    same_origin(request)
    if not hmac.compare_digest((await form_fields(request)).get("csrf", ""), csrf_of(raw)):
        raise HTTPException(403, "a form without this session's CSRF field")
    return raw


def csrf_of(raw: str) -> str:
    """The CSRF field the dashboard's forms carry: only a page that was served to the token's
    holder knows it."""
    return hashlib.sha256(b"orchestrator-csrf:" + raw.encode()).hexdigest()


def tenants(caller: Principal) -> list[str] | None:
    """The tenants a read is limited to; None (all) only with authentication off."""
    return None if caller is OFF else list(caller.tenants)


async def visible(request: Request, project_id: str, caller: Principal) -> None:
    """404 unless the project exists for one of the caller's tenants (another tenant's
    project is not revealed)."""
    if await context(request).one(views.PROJECT_VISIBLE, [project_id, tenants(caller)]) is None:
        raise HTTPException(404, f"no project {project_id}")


def submitting_tenant(caller: Principal, asked: str | None, default: str) -> str:
    """Whose project a submission makes: the one asked for (403 unless the token holds it), or
    the token's only tenant (422 when it has several and none was asked for)."""
    if caller is OFF:
        return asked or default
    if asked is not None:
        if asked not in caller.tenants:
            raise HTTPException(403, f"this token does not act for tenant {asked!r}")
        return asked
    if len(caller.tenants) != 1:
        raise HTTPException(422, "this token acts for several tenants: name one with ?tenant=")
    return caller.tenants[0]


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
