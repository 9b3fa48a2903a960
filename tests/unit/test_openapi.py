"""The query API's OpenAPI document is the contract: a rewrite of the routes keeps it."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from orchestrator.adapters.config import Settings
from services.projections.api import create_app

SNAPSHOT = Path(__file__).resolve().parents[1] / "fixtures" / "openapi.json"


def test_the_openapi_document_is_the_shipped_one() -> None:
    app = create_app(Settings(kafka_bootstrap="127.0.0.1:1", database_url="postgresql://nobody@127.0.0.1:1/x"))
    served = TestClient(app).get("/openapi.json").json()
    assert served == json.loads(SNAPSHOT.read_text())
