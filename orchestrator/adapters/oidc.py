"""JWTs from an OIDC issuer, checked against its JWKS: the other way to hold a principal.

The signature must verify with a key of `ORCH_OIDC_JWKS_URL` (RS/ES/PS algorithms only, never
`none` or HMAC), `iss` and `aud` must match the settings, `exp` must not have passed. Scopes come
from the space-separated `scope` claim, tenants from `ORCH_OIDC_TENANTS_CLAIM`.
"""

from __future__ import annotations

from functools import cache

import jwt

from orchestrator.adapters.config import Settings
from orchestrator.adapters.tokens import SCOPES, Principal

ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]


@cache
def _keys(url: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=5)


def principal(settings: Settings, token: str) -> Principal | None:
    """The principal a valid JWT names; None for any token that does not verify."""
    if not settings.oidc_jwks_url:
        return None
    try:
        key = _keys(settings.oidc_jwks_url).get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key.key, algorithms=ALGORITHMS, audience=settings.oidc_audience,
                            issuer=settings.oidc_issuer,
                            options={"require": ["exp", "sub"], "verify_aud": bool(settings.oidc_audience)})
    except jwt.PyJWTError:
        return None
    tenants = claims.get(settings.oidc_tenants_claim) or []
    tenants = [tenants] if isinstance(tenants, str) else [str(t) for t in tenants]
    scopes = frozenset(str(claims.get("scope", "")).split()) & frozenset(SCOPES)
    return Principal(f"jwt:{claims['sub']}", tuple(tenants), scopes)
