"""What the dashboard's routes share: the templates, a page or its live fragment, the errors.

A page is a whole document; with `X-Fragment: 1` (what `dashboard.js` asks when the live
stream says something changed) only its `<main>`, which the script swaps in place.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException

from services.projections.api import cookies

HERE = Path(__file__).parent
TEMPLATES = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(),
                        trim_blocks=True, lstrip_blocks=True)
PREFIX = "/ui"


def _at_ms(ms: int | None) -> str:
    """A time in epoch milliseconds (as `deadline_ms` is kept) the way the pages show the others."""
    return "" if ms is None else datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


TEMPLATES.filters["at_ms"] = _at_ms


def render(request: Request, name: str, *, code: int = 200, **values: Any) -> HTMLResponse:
    raw = cookies.presented(request, None)
    html = TEMPLATES.get_template(name).render(
        fragment=request.headers.get("x-fragment") == "1", csrf=cookies.csrf_of(raw) if raw else "",
        signed_in=raw is not None, **values)
    return HTMLResponse(html, status_code=code, headers={"Cache-Control": "no-store"})


async def errors(request: Request, exc: Exception) -> Response:
    """The dashboard answers its 401/403/404 as pages (a 401 is the sign-in form); the API as JSON."""
    assert isinstance(exc, HTTPException)
    if not request.url.path.startswith(PREFIX + "/"):
        return await http_exception_handler(request, exc)
    if exc.status_code == 401:
        return render(request, "sign_in.html", code=401, error=exc.detail, next=request.url.path)
    return render(request, "error.html", code=exc.status_code, error=exc.detail)
