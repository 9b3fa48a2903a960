"""The dashboard's session cookie (`COOKIE`, set by its sign-in page) holds a bearer token
and stands for the bearer on reads (GET, HEAD) only; of the writes, only the dashboard's own
forms take it, posted from this site with a CSRF field that only a page served to the
session holds."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qs

from fastapi import HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials

COOKIE = "orch_session"
SAFE = frozenset({"GET", "HEAD"})


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
