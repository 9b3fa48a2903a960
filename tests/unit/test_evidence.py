"""The evidence view of a request: tasks, their attempts, the artifacts of each (pure)."""

from __future__ import annotations

from services.projections.evidence import by_task

REF = {"name": "qa-report.json", "uri": "file:///a/r.json", "sha256": "ab" * 32,
       "media_type": "application/json", "size": 10}


def row(type_: str, task: str | None, attempt: int | None, round_: int | None,
        refs: list[dict] | None = None, n: int = 0) -> dict:
    found = {"task_id": task, "attempt": attempt, "round": round_}
    payload = {k: v for k, v in found.items() if v is not None}
    return {"type": type_, "payload": payload, "event_id": f"e{n}", "occurred_at": n,
            "actor_instance": "w1", "artifacts": refs or []}


def test_attempts_group_events_rounds_and_artifacts_with_digests() -> None:
    qa = "p/backend/qa/FR-1"
    events = [
        row("project.created", None, None, None, [REF], 0),
        row("task.assigned", qa, 1, None, None, 1),
        row("task.started", qa, 1, 0, None, 2),
        row("task.heartbeat", qa, 1, 0, None, 3),
        row("qa.failed", qa, 1, 0, [REF], 4),
        row("task.assigned", qa, 2, None, None, 5),
        row("qa.passed", qa, 2, 1, [{**REF, "sha256": "cd" * 32}], 6),
    ]
    tasks = by_task(events, [{"task_id": qa, "status": "completed"}])
    assert len(tasks) == 1 and tasks[0]["status"] == "completed"
    first, second = tasks[0]["attempts"]
    assert first["attempt"] == 1 and first["rounds"] == [0] and first["heartbeats"] == 1
    assert [e["type"] for e in first["events"]] == ["task.assigned", "task.started", "qa.failed"]
    assert [(a["sha256"], a["event_type"], a["round"]) for a in first["artifacts"]] == [
        ("ab" * 32, "qa.failed", 0)]
    assert second["attempt"] == 2 and second["artifacts"][0]["sha256"] == "cd" * 32


def test_a_task_known_only_from_events_is_still_shown() -> None:
    tasks = by_task([row("task.started", "p/backend/dev/FR-2", 1, 0)], [])
    assert tasks[0]["task_id"] == "p/backend/dev/FR-2" and tasks[0]["attempts"][0]["rounds"] == [0]
