"""The dashboard in a real browser (headless Chromium driven by Playwright) against a real
fleet: sign-in, what each tenant sees, and a board that follows a submission live."""

from __future__ import annotations

import shutil
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from orchestrator import client, demo, tokens
from orchestrator.envelope import Event

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
