"""Opaque cursors and the JSON of a page, put together from what PostgreSQL built."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import orjson
from fastapi import HTTPException, Query, Response

Limit = Query(50, ge=1, le=500)


def decode_cursor(cursor: str | None, size: int) -> list[Any] | None:
    if cursor is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error) as exc:
        raise HTTPException(422, "malformed cursor") from exc
    if not isinstance(key, list) or len(key) != size:
        raise HTTPException(422, "malformed cursor")
    return key


def page(row: tuple[Any, ...] | None, limit: int) -> Response:
    """`row` as `views.page` returns it: (also, items JSON, count, last key JSON)."""
    assert row is not None  # scalar subqueries: always one row
    _, items, count, last = row
    cursor = base64.urlsafe_b64encode(last.encode()).decode() if count == limit and last else None
    return json_response(b'{"items":' + items.encode() + b',"next_cursor":' + orjson.dumps(cursor) + b"}")


def json_response(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type="application/json")
