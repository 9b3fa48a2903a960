"""`/ui/live`: Server-Sent Events telling an open dashboard page that what it shows changed.

The stream carries no data of its own: an event `changed` when the caller's projects (or,
with `project_id`, that project's events) move; the page then fetches its own fragment,
through the same routes and checks as a first load. A stream ends after `LIFETIME` seconds
(or `for_s`, if shorter) and the browser's EventSource opens the next one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from orchestrator.adapters.tokens import Principal
from services.projections import views
from services.projections.api import auth, pages, tenancy
from services.projections.api.context import context

router = APIRouter(include_in_schema=False)
POLL_S = 0.5
LIFETIME_S = 300.0


@router.get(pages.PREFIX + "/live")
async def live(request: Request, project_id: str | None = None,
               for_s: float = Query(LIFETIME_S, gt=0, le=LIFETIME_S),
               caller: Principal = auth.READ) -> StreamingResponse:
    mine = auth.tenants(caller)
    if project_id is not None:
        await tenancy.visible(request, project_id, caller)
    query, params = ((views.LIVE_PROJECTS, [mine]) if project_id is None
                     else (views.LIVE_PROJECT, [project_id, mine]))

    async def changes() -> AsyncIterator[bytes]:
        ctx, seen, waited = context(request), None, 0.0
        yield b"retry: 1000\n\n"
        while waited < for_s and not await request.is_disconnected():
            now: Any = await ctx.one(query, params)
            if seen is not None and now != seen:
                yield b"event: changed\ndata: {}\n\n"
            seen = now
            await asyncio.sleep(POLL_S)
            waited += POLL_S

    return StreamingResponse(changes(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
