"""The API benchmark's baseline: a bare ASGI app answering a fixed JSON body, nothing else.

Served by the same uvicorn (uvloop, httptools, no access log) under the same generator, it
is what one Python process can answer on this machine in the same run.
"""

from __future__ import annotations

from typing import Any

BODY = (b'{"project_id":"bench-000001","name":"bench","status":"completed","request_id":'
        b'"7b5b3f5e-1c7a-4c39-9a53-0e3e3c1c2f11","modules":1,"module_list":[{"area":"backend",'
        b'"status":"completed","tasks_total":3,"tasks_verified":2}]}')
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
