"""OIDC JWTs on the query API, verified against a JWKS served by a local HTTP server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from jwt.algorithms import RSAAlgorithm
from test_projector import schema  # noqa: F401  (fixture)

from orchestrator.adapters.config import Settings
from services.projections import views
from services.projections.api import create_app

pytestmark = pytest.mark.integration
ISSUER, AUDIENCE = "https://issuer.test", "orchestrator-api"


def _key() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def signer() -> Iterator[tuple[Any, str]]:
    """A private key and the URL of the JWKS that publishes its public half."""
    key = _key()
    public = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    body = json.dumps({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield key, f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()


def _jwt(key: Any, **claims: Any) -> str:
    base = {"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 300,
            "scope": "read submit", "tenants": ["default"]}
    return jwt.encode({**base, **claims}, key, algorithm="RS256", headers={"kid": "k1"})


def test_a_jwt_of_the_issuer_is_a_principal_and_forgeries_are_not(
        settings: Settings, schema: str, signer: tuple[Any, str]) -> None:  # noqa: F811
    key, url = signer
    oidc = settings.model_copy(update={"oidc_jwks_url": url, "oidc_issuer": ISSUER,
                                       "oidc_audience": AUDIENCE, "api_token_cache_s": 0.0})
    views.migrate(settings.dsn, schema)
    with TestClient(create_app(oidc, settings.dsn, schema)) as client:
        def status(token: str, path: str = "/projects") -> int:
            return client.get(path, headers={"Authorization": f"Bearer {token}"}).status_code

        assert status(_jwt(key)) == 200
        assert status(_jwt(key), "/tokens") == 403  # no admin in its scope claim
        assert status(_jwt(key, iss="https://elsewhere")) == 401
        assert status(_jwt(key, aud="another-api")) == 401
        assert status(_jwt(key, exp=int(time.time()) - 10)) == 401
        assert status(_jwt(_key())) == 401  # signed by a key the JWKS does not hold
        unsigned = jwt.encode({"sub": "x", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60,
                               "scope": "read"}, None, algorithm="none", headers={"kid": "k1"})
        assert status(unsigned) == 401
        acme = {"Authorization": f"Bearer {_jwt(key, tenants='acme')}"}  # one tenant, as a string
        assert client.post("/specs?tenant=default", content=b"x: 1\n", headers=acme).status_code == 403
