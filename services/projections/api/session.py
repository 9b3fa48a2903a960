"""The dashboard's sign-in and sign-out, and its static files: open routes, on purpose.

A browser cannot send a bearer header when it navigates, so the sign-in form takes a token
and, when it is valid, keeps it in an HttpOnly, SameSite=Strict cookie that `auth` accepts
on reads. The forms that post here are checked against another site's page twice: the
`Origin` must be this host's, and sign-out carries the CSRF field the pages hold
(`cookies.form_session`, as the board's control forms do).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import FileResponse, RedirectResponse

from services.projections.api import cookies, pages, verifier
from services.projections.api.context import context

router = APIRouter(include_in_schema=False)
STATIC = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
HOME = pages.PREFIX + "/projects"


@router.get(pages.PREFIX + "/sign-in")
async def sign_in_page(request: Request, next: str = HOME) -> Response:
    return pages.render(request, "sign_in.html", error=None, next=next)


@router.post(pages.PREFIX + "/sign-in")
async def sign_in(request: Request) -> Response:
    cookies.same_origin(request)
    form = await cookies.form_fields(request)
    raw = form.get("token", "").strip()
    found = await verifier.verified(request).principal(context(request), raw) if raw else None
    if found is None or "read" not in found.scopes:
        raise HTTPException(401, "unknown, revoked or not a reading token")
    target = form.get("next", HOME)
    answer = RedirectResponse(target if target.startswith(pages.PREFIX + "/") else HOME, 303)
    answer.set_cookie(cookies.COOKIE, raw, httponly=True, samesite="strict", path="/",
                      secure=request.url.scheme == "https")
    return answer


@router.post(pages.PREFIX + "/sign-out")
async def sign_out(request: Request) -> Response:
    cookies.same_origin(request)
    await cookies.form_session(request)  # 403 without this session's CSRF field
    answer = RedirectResponse(pages.PREFIX + "/sign-in", 303)
    answer.delete_cookie(cookies.COOKIE, path="/", httponly=True, samesite="strict")
    return answer


@router.get(pages.PREFIX + "/static/{name}")
async def static(name: str) -> Response:
    if name not in STATIC:
        raise HTTPException(404, f"no file {name}")
    return FileResponse(pages.HERE / "static" / name, media_type=STATIC[name],
                        headers={"Cache-Control": "max-age=300"})
