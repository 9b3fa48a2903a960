"""A project budget stop on the real fleet: two areas' llm runs, against the scripted model
server, each within its module's budget, together exhaust the project's. One Monitor per
area (each reads the other area's `task.usage` past its area filter) raises a budget alert
for its own module, each PM escalates, the CTO blocks both, and the project ends blocked
(docs/flow.md, "Budgets")."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from integration.llm_server import ScriptedModel
from integration.servers import serving
from test_budget_stop import SCRIPT

from orchestrator.adapters import client
from orchestrator.core.actors import ACTORS
from orchestrator.core.envelope import Event
from orchestrator.core.events import (
    AlertKind,
    CtoDecided,
    Decision,
    ModuleBlocked,
    MonitorAlert,
    PmEscalated,
    Role,
    Severity,
    TaskUsage,
)
from orchestrator.entrypoints import demo

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

AREAS = ("backend", "web")

SPEC = """\
apiVersion: orchestrator/v1
kind: Spec
project: Over the project budget
modules:
  - area: backend
    requirements:
      - {id: FR-1, title: Say hello, acceptance: [prints hello]}
  - area: web
    requirements:
      - {id: FR-2, title: Say hello on the web, acceptance: [prints hello]}
policy:
  budgets:
    warn_at: 0.8
    module: {tokens: 2000}
    project: {tokens: 2000}
executors:
  dev: {kind: llm, base_url: "%s", model: spender, max_steps: 5}
  qa: {kind: simulated, duration: 20s}
"""

# SCRIPT spends 1200 tokens a run: 60% of a module's budget, the two runs 120% of the project's


def test_two_areas_runs_together_exhaust_the_project_budget_and_block_every_module(
        fleet: demo.Fleet, tmp_path: Path) -> None:
    model = ScriptedModel({"spender": SCRIPT})
    with serving(model.app) as url:
        spec = tmp_path / "project-budget.yaml"
        spec.write_text(SPEC % f"{url}/v1")
        for name in ACTORS:
            if name != "monitor":
                fleet.start(name)
        for area in AREAS:  # per-area Monitors: each sees the other's usage only by the project budget
            fleet.start("monitor", area, label=f"monitor-{area}")
        outcome, events = demo.run(fleet.settings, spec, timeout=180, echo=False)
        events = _until_both_blocked(fleet, events)
    assert fleet.dead() == []
    assert outcome == "project.blocked", Counter(e.type for e in events)
    spent = [e.payload for e in events if isinstance(e.payload, TaskUsage) and e.payload.role is Role.DEV]
    assert sorted((p.area, p.tokens_in + p.tokens_out) for p in spent) == [("backend", 1200), ("web", 1200)]
    budget = [(e.actor.area, p) for e in events
              if isinstance(p := e.payload, MonitorAlert) and p.kind is AlertKind.BUDGET]
    # neither module's budget was reached: only the project's, one critical alert per area,
    # each raised by that area's own Monitor for its own module
    assert all(p.message.startswith("project budget") for _, p in budget), budget
    critical = sorted((who, p.area, p.message) for who, p in budget if p.severity is Severity.CRITICAL)
    assert critical == [(area, area, "project budget exhausted: tokens 2400 of 2000") for area in AREAS]
    escalated = sorted(e.payload.area for e in events if isinstance(e.payload, PmEscalated))
    assert escalated == list(AREAS)
    rulings = [e.payload for e in events if isinstance(e.payload, CtoDecided)]
    assert sorted(r.area for r in rulings) == list(AREAS)
    assert all(r.decision is Decision.BLOCK for r in rulings)
    blocked = [e.payload for e in events if isinstance(e.payload, ModuleBlocked)]
    assert sorted(b.area for b in blocked) == list(AREAS)
    assert all(b.reason.startswith("budget exhausted") for b in blocked)
    assert "module.completed" not in {e.type for e in events}


def _until_both_blocked(fleet: demo.Fleet, events: list[Event]) -> list[Event]:
    """The run ends at `project.blocked`, which the CTO emits at the first blocked module; the
    other area's PM blocks its module just after: read on (bounded) until both are on the log."""
    request = events[0].request_id
    seen = {e.event_id for e in events}
    blocked = {e.payload.area for e in events if isinstance(e.payload, ModuleBlocked)}
    if blocked >= set(AREAS):
        return events
    more = list(events)
    for event in client.follow(fleet.settings, events[0].occurred_at - 1000, 60,
                               lambda e: e.request_id == request and e.event_id not in seen):
        more.append(event)
        if isinstance(event.payload, ModuleBlocked):
            blocked.add(event.payload.area)
            if blocked >= set(AREAS):
                break
    return more

