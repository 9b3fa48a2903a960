"""A hand-off from `llm` to `manual` through the API on the real fleet: the dev task's model
is still thinking (the scripted server holds its answer) when an operator hands the task to
a person, who completes it; the model's run is stopped and changes nothing (docs/flow.md,
"Controls"; README, "Hand-offs")."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from integration.llm_server import ScriptedModel, late, say
from integration.servers import serving

from orchestrator.core.envelope import Event
from orchestrator.core.events import TaskUsage
from orchestrator.entrypoints import demo
from tests.e2e.test_gates import hand_to_a_person

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SPEC = """\
apiVersion: orchestrator/v1
kind: Spec
project: Handed from the model to a person
modules:
  - area: backend
    requirements:
      - {id: FR-1, title: Too slow for the model}
executors:
  dev: {kind: llm, base_url: "%s", model: slow-thinker, max_steps: 3, timeout: 120s}
"""

# far longer than the hand-off takes: the run is stopped while it waits for this answer
SCRIPT = [late(say("done by the model", 700, 70), 90)]


def _asked(model: ScriptedModel, name: str, deadline_s: float = 60) -> None:
    """Until the llm run has sent its first request: it is running on the model, not merely claimed."""
    deadline = time.monotonic() + deadline_s
    while not model.requests.get(name):
        assert time.monotonic() < deadline, "the llm run never asked the model"
        time.sleep(0.05)


def _hand_over(fleet: demo.Fleet, model: ScriptedModel, url: str, tmp_path: Path) -> list[Event]:
    """Hand the running llm claim to `manual` once the model has really been asked; settle the
    new claim by hand."""
    return hand_to_a_person(fleet, tmp_path / "llm-handoff.yaml", SPEC % f"{url}/v1",
                            "e2e: the model is too slow", lambda: _asked(model, "slow-thinker"))


def test_a_running_llm_task_handed_to_a_person_is_completed_by_hand_and_the_model_changes_nothing(
        fleet: demo.Fleet, tmp_path: Path) -> None:
    model = ScriptedModel({"slow-thinker": SCRIPT})
    with serving(model.app) as url:
        log = _hand_over(fleet, model, url, tmp_path)
        deadline = time.monotonic() + 30
        while not model.abandoned.get("slow-thinker") and time.monotonic() < deadline:
            time.sleep(0.1)
    assert fleet.dead() == []
    types = [e.type for e in log]
    assert "task.reassigned" in types and "project.completed" in types, types
    [handed] = [e.payload for e in log if e.type == "task.reassigned"]
    assert handed.executor.kind == "manual"  # type: ignore[union-attr]
    dev_claims = [e.payload for e in log if e.type == "task.started" and e.payload.role.value == "dev"]  # type: ignore[union-attr]
    assert [(c.attempt, c.round) for c in dev_claims] == [(1, 0), (1, 1)]  # type: ignore[union-attr]
    assert types.index("task.reassigned") < [i for i, e in enumerate(log) if e.type == "task.started"
                                             and e.payload.role.value == "dev"][1]  # type: ignore[union-attr]
    # the person's completion is the only one: the model's answer never came, nor counts
    done = [e.payload for e in log if e.type == "task.completed"]
    assert [(d.attempt, d.round, d.summary) for d in done] == [(1, 1, "done by hand")]  # type: ignore[union-attr]
    assert "task.failed" not in types
    # the llm run was stopped mid-request: it asked once, then hung up before the answer
    assert len(model.requests["slow-thinker"]) == 1
    assert model.abandoned == {"slow-thinker": 1}
    # a stopped run is cancelled before it has an outcome, so only the live claim reports
    # usage: the person's round, with no tokens (the model's 770 are never counted)
    spent = [e.payload for e in log if isinstance(e.payload, TaskUsage) and e.payload.role.value == "dev"]
    assert [(u.attempt, u.round, u.tokens_in, u.tokens_out) for u in spent] == [(1, 1, 0, 0)]
    assert spent[0].seconds > 0
    found = demo.read_model(fleet.settings, log[-1].project_id, "completed", 30)
    assert found["projection"] == "completed"
