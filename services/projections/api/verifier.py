"""Who a bearer is, remembered per process: a verified token is cached for
`ORCH_API_TOKEN_CACHE_S` seconds (so a revocation takes effect within that time), a bearer
that is not an opaque token is tried as a JWT of the configured OIDC issuer, and each token
writes from its own bucket (`ORCH_API_WRITE_RATE`)."""

from __future__ import annotations

import time

import psycopg
from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from orchestrator.adapters import oidc, tokens
from orchestrator.adapters.tokens import Principal
from services.projections.api.context import Context


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
