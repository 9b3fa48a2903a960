"""A budget stop on the real fleet: the llm executor, against the scripted model server,
spends more tokens than the module may; the Monitor alerts, the PM escalates, the CTO
blocks, and the module and the project end blocked (docs/flow.md, "Budgets")."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from integration.llm_server import ScriptedModel, call, say
from integration.servers import serving

from orchestrator.core.events import (
    AlertKind,
    CtoDecided,
    Decision,
    ModuleBlocked,
    MonitorAlert,
    PmEscalated,
    Severity,
    TaskUsage,
)
from orchestrator.entrypoints import demo

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SPEC = """\
apiVersion: orchestrator/v1
kind: Spec
project: Over budget
modules:
  - area: backend
    requirements:
      - {id: FR-1, title: Say hello, acceptance: [prints hello]}
policy:
  budgets:
    warn_at: 0.8
    task: {tokens: 1500}
    module: {tokens: 1000}
executors:
  dev: {kind: llm, base_url: "%s", model: big-spender, max_steps: 5}
  qa: {kind: simulated, duration: 5s}
"""

SCRIPT = [call("write_file", 400, 100, path="hello.py", content="print('hello')\n"),
          say("hello.py prints hello", 600, 100)]


def test_a_run_over_the_module_budget_blocks_the_module_through_the_cto(
        fleet: demo.Fleet, tmp_path: Path) -> None:
    model = ScriptedModel({"big-spender": SCRIPT})
    with serving(model.app) as url:
        spec = tmp_path / "budget.yaml"
        spec.write_text(SPEC % f"{url}/v1")
        demo.start_actors(fleet)
        outcome, events = demo.run(fleet.settings, spec, timeout=180, echo=False)
    assert fleet.dead() == []
    assert outcome == "project.blocked", Counter(e.type for e in events)
    [spent] = [e.payload for e in events if isinstance(e.payload, TaskUsage)]
    assert (spent.tokens_in, spent.tokens_out) == (1000, 200) and spent.seconds > 0
    budget = [p for e in events if isinstance(p := e.payload, MonitorAlert) and p.kind is AlertKind.BUDGET]
    assert sorted((p.severity, p.message.split(" budget")[0]) for p in budget) == [
        (Severity.CRITICAL, "module backend"), (Severity.WARNING, f"task {spent.task_id}")]
    [escalated] = [e.payload for e in events if isinstance(e.payload, PmEscalated)]
    assert escalated.reason.startswith("budget: module backend budget exhausted: tokens 1200 of 1000")
    [ruling] = [e.payload for e in events if isinstance(e.payload, CtoDecided)]
    assert ruling.decision is Decision.BLOCK
    [blocked] = [e.payload for e in events if isinstance(e.payload, ModuleBlocked)]
    assert blocked.reason.startswith("budget exhausted")
    completed = [e for e in events if e.type == "task.completed"]
    assert [a.name for a in completed[0].artifacts][:1] == ["hello.py"]
    assert "module.completed" not in {e.type for e in events}
