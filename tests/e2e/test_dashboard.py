"""The dashboard in a real browser (headless Chromium driven by Playwright) against a real
fleet: sign-in, what each tenant sees, and a board that follows a submission live."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from orchestrator.adapters import client, tokens
from orchestrator.adapters.stack.proc import free_port
from orchestrator.core.envelope import Event
from orchestrator.entrypoints import demo

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SPEC = """\
apiVersion: orchestrator/v1
kind: Spec
project: Dashboard shop
modules:
  - area: backend
    requirements:
      - {id: FR-1, title: Register users}
      - {id: FR-2, title: List products}
  - area: web
    requirements:
      - {id: FR-3, title: Sign-up page}
policy:
  max_attempts: 3
  deadlines: {dev: 30s, qa: 30s, devops: 30s}
  heartbeat_timeout: 3s
executors:
  dev: {kind: simulated, duration: %s}
  qa: {kind: simulated, duration: 0s, seed: 7, fail_first: FR-3}
  devops: {kind: simulated, duration: 0s}
"""


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Debian's chromium (scripts/ensure-tools.sh installs it), never a downloaded build."""
    found = shutil.which("chromium")
    assert found, "chromium is missing: make tools installs it"
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=found, headless=True, args=["--no-sandbox"])
        yield launched
        launched.close()


def _read_side(fleet: demo.Fleet) -> str:
    """Every actor, the projector and the API; the API's URL once it answers."""
    demo.start_actors(fleet)
    # a port of our own: 8080, when free, races other fleets on this machine
    fleet.settings = fleet.settings.model_copy(update={"api_port": free_port()})
    api = demo.start_read_side(fleet)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{api}/healthz", timeout=5) as answer:
                if answer.status == 200:
                    return api
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def _submit(fleet: demo.Fleet, tmp_path: Path, tenant: str, dev_duration: str = "0s") -> Event:
    spec = tmp_path / f"{tenant}.yaml"
    spec.write_text(SPEC % dev_duration)
    done: list[Event] = []  # in a thread: Playwright's loop runs in this one
    worker = threading.Thread(target=lambda: done.append(
        client.submit(fleet.settings.model_copy(update={"default_tenant": tenant}), spec)))
    worker.start()
    worker.join(60)
    return done[0]


def _signed_in(browser: Browser, api: str, token: str) -> Page:
    page = browser.new_context(base_url=api).new_page()
    page.goto("/ui/projects")  # no cookie yet: the sign-in form, answered 401
    expect(page.locator("h1")).to_have_text("Sign in")
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{api}/ui/projects")
    return page


def test_sign_in_sets_an_httponly_strict_cookie_and_each_tenant_sees_only_its_projects(
        fleet: demo.Fleet, browser: Browser, tmp_path: Path) -> None:
    api = _read_side(fleet)
    a, b = f"dash-a-{uuid.uuid4().hex[:6]}", f"dash-b-{uuid.uuid4().hex[:6]}"
    _submit(fleet, tmp_path, a)
    page = _signed_in(browser, api, tokens.create(fleet.settings.dsn, [a], ["read"], "dash-a"))
    row = page.locator("#projects tr[data-project]")
    expect(row).to_have_count(1, timeout=60_000)  # appears without a reload once projected
    expect(row.locator(".tenant")).to_have_text(a)
    expect(row).to_contain_text("Dashboard shop")
    project_id = row.get_attribute("data-project")
    page.select_option("select[name=tenant]", a)
    page.fill("input[name=status]", "rejected")
    page.click("text=Filter")
    expect(page.locator("#none")).to_have_text("No projects match these filters.")
    page.goto(f"/ui/projects?status=completed&tenant={a}")  # the fast spec ends on its own
    expect(page.locator("#projects tr[data-project]")).to_have_count(1, timeout=60_000)
    (cookie,) = page.context.cookies()
    assert (cookie["name"], cookie["httpOnly"], cookie["sameSite"]) == ("orch_session", True, "Strict")
    assert page.evaluate("document.cookie") == ""  # scripts cannot read the token

    other = _signed_in(browser, api, tokens.create(fleet.settings.dsn, [b], ["read"], "dash-b"))
    expect(other.locator("#none")).to_have_text("No projects.")
    assert other.goto(f"/ui/projects/{project_id}").status == 404  # not revealed to tenant b
    expect(other.locator("#error")).to_contain_text("no project")

    wrong = browser.new_context(base_url=api).new_page()
    wrong.goto("/ui/sign-in")
    wrong.fill("input[name=token]", "orch_nothing_" + "x" * 43)
    wrong.click("button[type=submit]")
    expect(wrong.locator("#error")).to_contain_text("not a reading token")
    assert wrong.context.cookies() == []

    page.click("text=Sign out")
    expect(page.locator("h1")).to_have_text("Sign in")
    assert page.context.cookies() == []
    assert page.goto("/ui/projects").status == 401


def _api(api: str, path: str, token: str) -> Any:
    request = urllib.request.Request(f"{api}{path}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def test_the_board_follows_a_submission_live_to_completed_and_each_page_shows_what_the_api_holds(
        fleet: demo.Fleet, browser: Browser, tmp_path: Path) -> None:
    api = _read_side(fleet)
    tenant = f"dash-{uuid.uuid4().hex[:6]}"
    token = tokens.create(fleet.settings.dsn, [tenant], ["read"], "dash")
    page = _signed_in(browser, api, token)
    submitted = _submit(fleet, tmp_path, tenant, dev_duration="2s")
    row = page.locator("#projects tr[data-project]")
    expect(row).to_have_count(1, timeout=60_000)
    project_id = row.get_attribute("data-project")
    page.click(f"a[href='/ui/projects/{project_id}']")
    expect(page.locator("#board")).to_be_visible()
    assert page.locator("#project-status").inner_text() != "completed"  # still under way
    page.evaluate("window.__still_this_page = true")

    expect(page.locator("#project-status")).to_have_text("completed", timeout=180_000)
    assert page.evaluate("window.__still_this_page") is True  # swapped by the stream, not reloaded
    assert int(page.locator("#live").get_attribute("data-updates") or 0) > 0
    tasks = _api(api, f"/projects/{project_id}/tasks?limit=500", token)["items"]
    expect(page.locator("#board .card")).to_have_count(len(tasks))
    for status, count in Counter(t["status"] for t in tasks).items():
        expect(page.locator(f"#board td[data-status='{status}'] .card")).to_have_count(count)
    modules = _api(api, f"/projects/{project_id}", token)["module_list"]
    done, total = sum(m["tasks_verified"] for m in modules), sum(m["tasks_total"] for m in modules)
    assert done >= 3  # each requirement's dev task at least
    expect(page.locator("#progress")).to_have_text(f"{done}/{total}")
    expect(page.locator("#board tr[data-area]")).to_have_count(2)
    expect(page.locator("#alert-count")).to_have_text("(0)")
    page.screenshot(path=str(_shots(tmp_path) / "dashboard-board.png"), full_page=True)

    page.click("text=timeline")
    events = _api(api, f"/projects/{project_id}/events?limit=500", token)["items"]
    expect(page.locator("#timeline tbody tr")).to_have_count(len(events))
    expect(page.locator("#timeline tr[data-type='project.completed']")).to_have_count(1)

    page.click("text=causal tree")
    tree = _api(api, f"/requests/{submitted.request_id}/tree", token)
    expect(page.locator("#node-count")).to_have_text(str(tree["events"]))
    expect(page.locator("details.node")).to_have_count(tree["events"])
    digests = {a["sha256"] for e in _api(api, f"/requests/{submitted.request_id}", token)["events"]
               for a in e["artifacts"]}
    assert digests  # QA reports and deploy logs
    assert {d.inner_text() for d in page.locator("#tree code.digest").all()} == digests
    expect(page.locator("#tree > details.node")).to_have_count(len(tree["roots"]))
    root = page.locator("#tree > details.node").first
    expect(root.locator("> summary .type")).to_have_text(tree["roots"][0]["type"])
    expect(root.locator("> details.node")).to_have_count(len(tree["roots"][0]["children"]))
    root.locator("> summary").click()  # a node folds away
    assert root.evaluate("d => d.open") is False
    root.locator("> summary").click()
    page.screenshot(path=str(_shots(tmp_path) / "dashboard-causal-tree.png"), full_page=True)

    page.goto(f"/ui/projects/{project_id}")
    reworked = page.locator("#board .card[data-task$='/dev/FR-3'] a")
    task = _api(api, f"/tasks/{(reworked.get_attribute('href') or '').removeprefix('/ui/tasks/')}", token)
    reworked.click()
    expect(page.locator("#task-status")).to_have_text(task["status"])
    beats = sum(e["type"] == "task.heartbeat" for e in task["events"])
    expect(page.locator("#heartbeat-count")).to_have_text(f"({beats})")
    expect(page.locator(".card.qa[data-type='qa.failed']")).to_contain_text("FR-3")
    expect(page.locator(".card.qa[data-type='qa.passed']")).to_have_count(1)
    attempts = {e["payload"]["attempt"] for e in task["events"] if "attempt" in e["payload"]}
    expect(page.locator("#attempts tbody tr")).to_have_count(len(attempts))


def test_an_operator_pauses_and_resumes_from_the_board_and_a_reader_sees_no_controls(
        fleet: demo.Fleet, browser: Browser, tmp_path: Path) -> None:
    api = _read_side(fleet)
    tenant = f"dash-op-{uuid.uuid4().hex[:6]}"
    reader = _signed_in(browser, api, tokens.create(fleet.settings.dsn, [tenant], ["read"], "reader"))
    page = _signed_in(browser, api, tokens.create(fleet.settings.dsn, [tenant], ["read", "operate"], "op"))
    _submit(fleet, tmp_path, tenant, dev_duration="3s")
    row = page.locator("#projects tr[data-project]")
    expect(row).to_have_count(1, timeout=60_000)
    project_id = row.get_attribute("data-project")
    page.goto(f"/ui/projects/{project_id}")
    page.click("#controls button[value=pause]")
    expect(page.locator("#project-status")).to_have_text("paused", timeout=60_000)
    expect(page.locator("#controls button")).to_have_text(["Resume", "Cancel"])
    reader.goto(f"/ui/projects/{project_id}")
    expect(reader.locator("#project-status")).to_have_text("paused")
    expect(reader.locator("#controls")).to_have_count(0)  # a read-only token gets no buttons
    page.click("#controls button[value=resume]")
    expect(page.locator("#project-status")).to_have_text("completed", timeout=180_000)
    expect(page.locator("#controls")).to_have_count(0)  # nothing applies to an ended project
    found = _api(api, f"/projects/{project_id}", tokens.create(fleet.settings.dsn, [tenant], ["read"]))
    assert found["status"] == "completed"


def _press(page: Page, button: str) -> None:
    """Post a board form: a live swap may replace the button under the click, so press again
    until the post has navigated (each press that posts navigates at once)."""
    for _ in range(5):
        try:
            with page.expect_navigation(timeout=5_000) as moved:
                page.click(button)
        except PlaywrightTimeout:
            continue
        assert moved.value is not None and moved.value.status == 200  # the board again, after the 303
        return
    raise AssertionError(f"{button} never posted")


def test_an_operator_pauses_and_resumes_one_module_from_its_row_and_a_reader_sees_no_module_buttons(
        fleet: demo.Fleet, browser: Browser, tmp_path: Path) -> None:
    api = _read_side(fleet)
    tenant = f"dash-mod-{uuid.uuid4().hex[:6]}"
    reader = _signed_in(browser, api, tokens.create(fleet.settings.dsn, [tenant], ["read"], "reader"))
    page = _signed_in(browser, api, tokens.create(fleet.settings.dsn, [tenant], ["read", "operate"], "op"))
    _submit(fleet, tmp_path, tenant, dev_duration="20s")  # backend's dev tasks outlast the pause
    row = page.locator("#projects tr[data-project]")
    expect(row).to_have_count(1, timeout=60_000)
    project_id = row.get_attribute("data-project")
    page.goto(f"/ui/projects/{project_id}")
    backend, web = (page.locator(f"#board tr[data-area='{a}']") for a in ("backend", "web"))
    expect(backend.locator(".module-controls button")).to_have_text(["Pause", "Cancel"], timeout=60_000)
    reader.goto(f"/ui/projects/{project_id}")  # open before the pause: it follows live
    watched = reader.locator("#board tr[data-area='backend'] th .status")
    expect(watched).to_have_text("planned")
    reader.evaluate("window.__still_this_page = true")
    _press(page, "#board tr[data-area='backend'] button[value=pause]")
    expect(backend.locator("th .status")).to_have_text("paused", timeout=60_000)
    expect(backend.locator(".module-controls button")).to_have_text(["Resume", "Cancel"])
    expect(web.locator("th .status")).to_have_text("planned")  # the other module goes on
    expect(page.locator("#project-status")).to_have_text("created")

    expect(watched).to_have_text("paused", timeout=30_000)  # through the event stream
    assert reader.evaluate("window.__still_this_page") is True  # swapped in, not reloaded
    expect(reader.locator("#board tr[data-area]")).to_have_count(2)
    expect(reader.locator("#board .module-controls")).to_have_count(0)  # read-only: no buttons

    with page.expect_navigation() as refused:  # a stale form: pause what is paused already
        page.evaluate("""() => { const f = document.querySelector("#board tr[data-area='backend'] form");
                                 f.action = f.action.replace(/resume$/, "pause"); f.submit(); }""")
    response = refused.value
    assert response is not None and response.status == 409
    expect(page.locator("#error")).to_have_text(f"cannot pause module backend of {project_id}: it is paused")

    page.goto(f"/ui/projects/{project_id}")
    _press(page, "#board tr[data-area='backend'] button[value=resume]")
    expect(backend.locator("th .status")).to_have_text("resumed", timeout=60_000)
    expect(backend.locator(".module-controls button")).to_have_text(["Pause", "Cancel"])
    types = [e["type"] for e in _api(api, f"/projects/{project_id}/events?limit=500",
                                     tokens.create(fleet.settings.dsn, [tenant], ["read"]))["items"]]
    assert types.count("module.paused") == 1 and types.count("module.resumed") == 1

    _press(page, "#controls button[value=cancel]")  # an ended project offers no module action
    expect(page.locator("#project-status")).to_have_text("cancelled", timeout=60_000)
    expect(page.locator("#board .module-controls")).to_have_count(0)


def _shots(tmp_path: Path) -> Path:
    """Where the screenshots go: `ORCH_DASHBOARD_SHOTS` (scripts/screenshots.py sets docs/), else
    the test's own directory."""
    found = Path(os.environ.get("ORCH_DASHBOARD_SHOTS") or tmp_path)
    found.mkdir(parents=True, exist_ok=True)
    return found
