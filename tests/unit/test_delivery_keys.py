"""Delivery metrics on hand-built events with known lead times, rates and restore times."""

from __future__ import annotations

from datetime import UTC, datetime

from services.projections.delivery import metrics

S = 1000  # ms


def row(n: int, at_s: int, type_: str, **payload: object) -> dict:
    return {"event_id": f"e{n}", "project_id": "p", "occurred_at": at_s * S, "type": type_,
            "payload": {"area": "backend", **payload}}


ROWS = [
    row(0, 0, "task.assigned", task_id="d1", role="dev", requirement_ids=["FR-1"]),
    row(1, 10, "task.assigned", task_id="d2", role="dev", requirement_ids=["FR-2"]),
    row(2, 20, "task.assigned", task_id="q1", role="qa", requirement_ids=["FR-1"]),
    row(3, 100, "qa.failed", task_id="q1"),
    row(4, 100, "monitor.alert", task_id="d1"),
    row(5, 160, "task.verified", task_id="d1"),
    row(6, 200, "devops.requested", task_id="o1", requirement_ids=["FR-1"]),
    row(7, 300, "devops.deployed", task_id="o1"),
    row(8, 310, "smoke.failed", task_id="o1"),
    row(9, 400, "devops.requested", task_id="o1", requirement_ids=["FR-1", "FR-2"]),
    row(10, 510, "devops.deployed", task_id="o1"),
    row(10, 510, "devops.deployed", task_id="o1"),  # a duplicate delivery counts once
]


def test_the_four_keys_have_their_known_values() -> None:
    p = metrics(ROWS)["projects"]["p"]
    assert p["lead_time_s"] == {"FR-1": 300.0, "FR-2": 500.0} and p["lead_time_median_s"] == 400.0
    assert p["deploys"] == 2 and p["qa_failures"] == 1 and p["smoke_failures"] == 1
    assert p["change_failure_rate"] == 1.0
    assert p["restores"] == 1 and p["time_to_restore_median_s"] == 60.0
    assert p["deploys_per_day"] == 2.0  # a run shorter than a day counts as one day
    assert metrics(ROWS)["areas"]["p/backend"]["deploys"] == 2


def test_a_window_keeps_only_its_events() -> None:
    since, until = datetime.fromtimestamp(250, UTC), datetime.fromtimestamp(250 + 43_200, UTC)
    p = metrics(ROWS, since, until)["projects"]["p"]
    assert p["deploys"] == 2 and p["qa_failures"] == 0 and p["lead_time_s"] == {}
    assert p["deploys_per_day"] == 4.0 and p["change_failure_rate"] == 0.5


def test_a_tenant_sums_its_projects_and_keeps_their_requirements_apart() -> None:
    other = [{**r, "event_id": f"q{r['event_id']}", "project_id": "q", "occurred_at": r["occurred_at"] + S}
             for r in ROWS]
    found = metrics([*ROWS, *other, {**ROWS[0], "event_id": "x", "project_id": "z", "tenant": "acme"}])
    default, acme = found["tenants"]["default"], found["tenants"]["acme"]
    assert default["deploys"] == 2 * found["projects"]["p"]["deploys"]
    assert set(default["lead_time_s"]) == {"p/FR-1", "p/FR-2", "q/FR-1", "q/FR-2"}
    assert default["lead_time_s"]["q/FR-1"] == found["projects"]["p"]["lead_time_s"]["FR-1"]
    assert acme["deploys"] == 0 and set(found["tenants"]) == {"default", "acme"}
