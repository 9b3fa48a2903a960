"""The operator's controls beyond pause/resume in a real browser against a real fleet: an
approval granted from the dashboard, a task handed to a person from its page, the org chart;
a reader sees the same rows and no buttons."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from orchestrator.adapters import client, tokens
from orchestrator.core.envelope import Event
from orchestrator.core.events import EXECUTOR_KINDS
from orchestrator.entrypoints import demo
from tests.e2e.test_dashboard import _api, _read_side, _signed_in, browser  # noqa: F401  (fixture)
from tests.e2e.test_gates import GATED_SPEC, HANDOFF_SPEC, call

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def _submit(fleet: demo.Fleet, tmp_path: Path, tenant: str, text: str) -> Event:
    """Submit `text` for `tenant` in a thread (Playwright's loop runs in this one)."""
    spec = tmp_path / f"{tenant}.yaml"
    spec.write_text(text)
    done: list[Event] = []
    worker = threading.Thread(target=lambda: done.append(
        client.submit(fleet.settings.model_copy(update={"default_tenant": tenant}), spec)))
    worker.start()
    worker.join(60)
    return done[0]


def _until(page: Page, url: str, found: Callable[[], Locator], timeout_s: float = 120) -> Locator:
    """Open `url` again until `found()` matches (pages that the live stream does not wake for)."""
    deadline = time.monotonic() + timeout_s
    while True:
        page.goto(url)
        if found().count() or time.monotonic() > deadline:
            return found()
        time.sleep(0.5)


def _project_of(page: Page) -> str:
    row = page.locator("#projects tr[data-project]")
    expect(row).to_have_count(1, timeout=60_000)
    return row.get_attribute("data-project") or ""


def test_an_operator_grants_a_gate_from_the_dashboard_the_project_completes_and_its_org_shows(
        fleet: demo.Fleet, browser: Browser, tmp_path: Path) -> None:  # noqa: F811
    api = _read_side(fleet)
    tenant = f"dash-gate-{uuid.uuid4().hex[:6]}"
    reading = tokens.create(fleet.settings.dsn, [tenant], ["read"], "reader")
    reader = _signed_in(browser, api, reading)
    page = _signed_in(browser, api, tokens.create(fleet.settings.dsn, [tenant], ["read", "operate"], "op"))
    _submit(fleet, tmp_path, tenant, GATED_SPEC)
    project_id = _project_of(page)

    row = _until(page, "/ui/approvals", lambda: page.locator("#approvals tr[data-approval]"))
    expect(row).to_have_count(1)
    approval_id = row.get_attribute("data-approval")
    (pending,) = _api(api, f"/approvals?status=pending&project_id={project_id}", reading)["items"]
    assert pending["approval_id"] == approval_id
    expect(row.locator(".gate")).to_have_text("deployment_total")
    expect(row.locator(".deadline")).not_to_be_empty()
    expect(row.locator("button")).to_have_text(["Grant", "Reject"])
    reader.goto("/ui/approvals")
    expect(reader.locator("#approvals tr[data-approval]")).to_have_count(1)  # the same row...
    expect(reader.locator("#approvals button, #approvals input[name=reason]")).to_have_count(0)  # ...no form
    reader.goto(f"/ui/projects/{project_id}")
    expect(reader.locator("#approvals tr[data-approval]")).to_have_count(1)
    expect(reader.locator("#approvals button")).to_have_count(0)

    row.locator("a[href^='/ui/projects/']").click()  # from the approvals page to the board
    expect(page).to_have_url(f"{api}/ui/projects/{project_id}")
    on_board = page.locator(f"#approvals tr[data-approval='{approval_id}']")
    expect(on_board.locator("button")).to_have_text(["Grant", "Reject"])
    reason = on_board.locator("input[name=reason]")
    reason.fill("looked at it in the browser")  # a field with the focus holds the live swap
    with page.expect_navigation() as answered:
        reason.press("Enter")  # the form's first button: Grant
    assert answered.value is not None and answered.value.status == 200  # back on the board
    expect(page).to_have_url(f"{api}/ui/projects/{project_id}")
    expect(page.locator("#project-status")).to_have_text("completed", timeout=180_000)
    expect(page.locator("#approvals")).to_have_count(0)  # nothing waits any more
    (answer,) = _api(api, f"/approvals?project_id={project_id}", reading)["items"]
    assert (answer["status"], answer["reason"]) == ("granted", "looked at it in the browser")

    with page.expect_navigation() as refused:  # a stale form: grant what is granted
        page.evaluate("""(id) => { const f = document.createElement("form"); f.method = "post";
            f.action = "/ui/approvals/" + encodeURIComponent(id) + "/grant";
            const c = document.querySelector("input[name=csrf]").cloneNode(); f.appendChild(c);
            document.body.appendChild(f); f.submit(); }""", approval_id)
    assert refused.value is not None and refused.value.status == 409
    expect(page.locator("#error")).to_have_text(f"cannot grant approval {approval_id}: it is granted")

    roles = _api(api, f"/projects/{project_id}/org", reading)["roles"]
    assert roles
    page.goto(f"/ui/projects/{project_id}")
    hires = page.locator("#org tr[data-role]")
    expect(hires).to_have_count(len(roles))
    expect(page.locator("#role-count")).to_have_text(f"({len(roles)} roles)")
    for r in roles:
        hire = page.locator(f"#org tr[data-role='{r['role']}'][data-area='{r['area']}']")
        expect(hire).to_have_attribute("data-status", r["status"])
        for i in r["instances"]:
            expect(hire.locator(".instances")).to_contain_text(i["instance"])
    page.click("header a[href='/ui/org']")
    summary = _api(api, "/org", reading)
    expect(page.locator("#org-roles tr[data-role]")).to_have_count(len(summary["roles"]))
    devops = summary["roles"][[r["role"] for r in summary["roles"]].index("devops")]
    expect(page.locator("#org-roles tr[data-role='devops'] .released")).to_have_text(str(devops["released"]))


def test_an_operator_hands_a_live_task_to_a_person_from_its_page_and_a_reader_sees_no_form(
        fleet: demo.Fleet, browser: Browser, tmp_path: Path) -> None:  # noqa: F811
    api = _read_side(fleet)
    tenant = f"dash-hand-{uuid.uuid4().hex[:6]}"
    operating = tokens.create(fleet.settings.dsn, [tenant], ["read", "operate"], "op")
    reader = _signed_in(browser, api, tokens.create(fleet.settings.dsn, [tenant], ["read"], "reader"))
    page = _signed_in(browser, api, operating)
    _submit(fleet, tmp_path, tenant, HANDOFF_SPEC)  # dev runs 10 minutes: live while we act
    project_id = _project_of(page)
    deadline = time.monotonic() + 120
    tasks = f"/projects/{project_id}/tasks"
    while not (started := [t["task_id"] for t in _api(api, tasks, operating)["items"]
                           if t["role"] == "dev" and t["status"] == "started"]):
        assert time.monotonic() < deadline, "the dev task never started"
        time.sleep(0.5)
    (task_id,) = started

    reader.goto(f"/ui/tasks/{task_id}")
    expect(reader.locator("#task-status")).to_have_text("started")
    expect(reader.locator("#handoff")).to_have_count(0)  # a read-only token gets no form
    page.goto(f"/ui/tasks/{task_id}")
    kind = page.locator("#handoff select[name=kind]")
    expect(kind.locator("option")).to_have_text(list(EXECUTOR_KINDS))
    kind.focus()  # from here the live swap waits for the form
    kind.select_option("manual")
    reason = page.locator("#handoff input[name=reason]")
    reason.fill("too slow for the machine")
    with page.expect_navigation() as handed:
        reason.press("Enter")
    assert handed.value is not None and handed.value.status == 200  # the task page again
    expect(page).to_have_url(f"{api}/ui/tasks/{task_id}")

    # the person's verdict, through the API as test_gates does, once the new claim waits for it
    verdict = call(f"{api}/tasks/{task_id}/complete", operating, {"note": "done by hand"},
                   retry=frozenset({404, 409}), deadline_s=120)
    assert (verdict["attempt"], verdict["round"]) == (1, 1)
    page.goto(f"/ui/projects/{project_id}")
    expect(page.locator("#project-status")).to_have_text("completed", timeout=180_000)
    events = _api(api, f"/projects/{project_id}/events?limit=500", operating)["items"]
    (moved,) = [e["payload"] for e in events if e["type"] == "task.reassigned"]
    assert (moved["task_id"], moved["executor"]["kind"], moved["reason"]) == (
        task_id, "manual", "too slow for the machine")
    page.goto(f"/ui/tasks/{task_id}")
    expect(page.locator("#task-status")).to_have_text("verified")
    expect(page.locator("#handoff")).to_have_count(0)  # nothing to hand off once it ended
