"""The evidence of one submission: every task, each attempt, what it produced (pure).

Built from the projected events of a request and its tasks (`views.request`): per task,
per attempt, the events (heartbeats only counted) and every artifact with its URI, sha256,
media type and size.
"""

from __future__ import annotations

from typing import Any


def by_task(events: list[dict[str, Any]], tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    attempts: dict[str, dict[int, dict[str, Any]]] = {}
    for event in events:
        payload = event.get("payload") or {}
        task_id, attempt = payload.get("task_id"), payload.get("attempt")
        if not isinstance(task_id, str) or not isinstance(attempt, int):
            continue
        slot = attempts.setdefault(task_id, {}).setdefault(
            attempt, {"attempt": attempt, "rounds": [], "events": [], "heartbeats": 0, "artifacts": []})
        if event["type"] == "task.heartbeat":
            slot["heartbeats"] += 1
            continue
        round_ = payload.get("round")
        if isinstance(round_, int) and round_ not in slot["rounds"]:
            slot["rounds"].append(round_)
        slot["events"].append({"type": event["type"], "round": round_, "event_id": event["event_id"],
                               "occurred_at": event["occurred_at"],
                               "actor": event.get("actor_instance")})
        for ref in event.get("artifacts") or []:
            slot["artifacts"].append({**ref, "event_type": event["type"], "round": round_})
    out = []
    known = set()
    for task in tasks:
        known.add(task["task_id"])
        found = attempts.get(task["task_id"], {})
        out.append({**task, "attempts": [found[a] for a in sorted(found)]})
    for task_id in sorted(set(attempts) - known):  # projected events of a task not (yet) in tasks
        found = attempts[task_id]
        out.append({"task_id": task_id, "attempts": [found[a] for a in sorted(found)]})
    return out
