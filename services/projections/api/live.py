"""`/ui/live`: Server-Sent Events telling an open dashboard page that what it shows changed.

The stream carries no data of its own: an event `changed` when the caller's projects (or,
with `project_id`, that project's events) move; the page then fetches its own fragment,
through the same routes and checks as a first load. A page's stream URL carries `since`, the
version read before the page's rows (`url`; a task's or a submission's page reads it just
after the row that names its project), so a change that lands between the page's render and
the stream's first look still wakes it; each `changed` carries the version as its SSE `id`,
which the browser sends back (`Last-Event-ID`) when it reconnects, so a change during the
reconnect is not missed either. A stream ends after `LIFETIME` seconds (or `for_s`, if
shorter) and the browser's EventSource opens the next one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from orchestrator.adapters.tokens import Principal
from services.projections import views
from services.projections.api import auth, pages, tenancy
from services.projections.api.context import context

router = APIRouter(include_in_schema=False)
POLL_S = 0.5
LIFETIME_S = 300.0


async def version(request: Request, project_id: str | None, mine: list[str] | None) -> str:
    """What the stream compares: the caller's projects' count and last update, or the
    project's event count and last offset."""
    query, params = ((views.LIVE_PROJECTS, [mine]) if project_id is None
                     else (views.LIVE_PROJECT, [project_id, mine]))
    now: Any = await context(request).one(query, params)
    return "/".join(str(v) for v in now)


async def url(request: Request, caller: Principal, project_id: str | None = None) -> str:
    """A page's stream URL; read it before the page's rows, so a change after them differs."""
    since = await version(request, project_id, auth.tenants(caller))
    found = {"project_id": project_id} if project_id is not None else {}
    return f"{pages.PREFIX}/live?{urlencode({**found, 'since': since})}"


@router.get(pages.PREFIX + "/live")
async def live(request: Request, project_id: str | None = None, since: str | None = None,
               for_s: float = Query(LIFETIME_S, gt=0, le=LIFETIME_S),
               caller: Principal = auth.READ) -> StreamingResponse:
    mine = auth.tenants(caller)
    if project_id is not None:
        await tenancy.visible(request, project_id, caller)

    async def changes() -> AsyncIterator[bytes]:
        seen, waited = request.headers.get("last-event-id") or since, 0.0
        yield b"retry: 1000\n\n"
        while waited < for_s and not await request.is_disconnected():
            now = await version(request, project_id, mine)
            if seen is not None and now != seen:
                yield f"id: {now}\nevent: changed\ndata: {{}}\n\n".encode()
            seen = now
            await asyncio.sleep(POLL_S)
            waited += POLL_S

    return StreamingResponse(changes(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
