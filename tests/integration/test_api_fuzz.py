"""A bounded schemathesis run of the query API's own OpenAPI document: no server errors."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as budget
from test_projector import publish, rejected, scenario, schema  # noqa: F401  (fixture)

from orchestrator.adapters.config import Settings
from services.projections import projector
from services.projections.api import create_app

pytestmark = pytest.mark.integration


def test_no_route_answers_with_a_server_error(settings: Settings, schema: str,  # noqa: F811
                                              api_headers: dict[str, str]) -> None:
    publish(settings, [*scenario("fuzz-1", "req-fuzz"), rejected("req-bad")])
    projector.run_until_caught_up(settings, schema)
    api = schemathesis.openapi.from_asgi("/openapi.json", create_app(settings, settings.dsn, schema))
    tried = []
    for result in api.get_all_operations():
        operation = result.ok()
        tried.append(operation.label)

        @given(case=operation.as_strategy())
        @budget(max_examples=20, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))
        def call(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call(headers=api_headers)
            assert response.status_code < 500, (case.method, case.formatted_path, response.text[:300])

        call()
    assert "GET /projects/{project_id}" in tried and "POST /specs" in tried
