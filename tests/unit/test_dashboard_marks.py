"""The board's template marks what an operator must not miss: budget alerts among the others,
and an approval's buttons only for those `answer_refusal` lets through (none for a reader)."""

from __future__ import annotations

from typing import Any

from services.projections.api import dashboard, pages

PROJECT = {"project_id": "shop-1", "name": "Shop", "status": "created", "tenant": "default",
           "request_id": "req-1", "verified": 0, "total": 1, "module_list": []}
APPROVAL = {"approval_id": "ap-1", "project_id": "shop-1", "task_id": "shop-1/web/devops", "area": "web",
            "role": "devops", "gate": "deployment_total", "status": "pending",
            "requested_at": "2026-01-01T00:00:00+00:00", "deadline_ms": 1_767_229_200_000}


def _board(**values: Any) -> str:
    alerts = values.pop("alerts", [])
    given = {"project": PROJECT, "grid": {}, "areas": [], "statuses": dashboard.TASK_STATUSES,
             "counts": dict.fromkeys(dashboard.TASK_STATUSES, 0), "tasks": [], "modules": {},
             "actions": [], "module_actions": {}, "roles": [], "approvals": [], "answers": {},
             "alerts": alerts, "budget_alerts": [a for a in alerts if a["kind"] == dashboard.BUDGET],
             "here": "/ui/projects/shop-1", "csrf": "c", "fragment": True, **values}
    return pages.TEMPLATES.get_template("board.html").render(**given)


def _alert(kind: str) -> dict[str, Any]:
    return {"kind": kind, "severity": "warning", "task_id": None, "occurred_at": "t", "message": kind}


def test_budget_alerts_are_marked_and_counted_apart_from_the_others() -> None:
    html = _board(alerts=[_alert("budget"), _alert("deadline"), _alert("budget")])
    assert html.count('class="alert-budget"') == 2 and html.count('class="alert-deadline"') == 1
    assert '<span class="badge budget" id="budget-count">2 budget</span>' in html
    assert "budget-count" not in _board(alerts=[_alert("deadline")])


def test_an_approval_has_the_buttons_its_rule_allows_and_none_for_a_reader() -> None:
    for status, buttons in (("created", ["grant", "reject"]), ("completed", [])):
        answers = dashboard._answers([APPROVAL], {"shop-1": status}, operator=True)
        assert answers == {"ap-1": buttons}
        html = _board(approvals=[APPROVAL], answers=answers)
        assert [a for a in ("grant", "reject") if f'value="{a}"' in html] == buttons
    reader = _board(approvals=[APPROVAL], answers=dashboard._answers([APPROVAL], {"shop-1": "created"},
                                                                     operator=False))
    assert 'data-approval="ap-1"' in reader and "<button" not in reader
    assert "2026-01-01T01:00:00+00:00" in reader  # the deadline, shown as a time
