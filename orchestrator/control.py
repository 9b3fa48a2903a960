"""An operator's pause, resume and cancel of a project: the events, and when each is allowed.

The operator's word is a fact on the log (emitter `client`): the API and the CLI build the
event here, after checking the project's status in the read model, and produce it keyed by
the project. Every actor treats a repeat as nothing new, so a retried request is harmless.
"""

from __future__ import annotations

import time

from orchestrator.envelope import Actor, Event, derive_id
from orchestrator.events import ProjectCancelled, ProjectPaused, ProjectResumed, Role

ACTIONS: dict[str, type[ProjectPaused | ProjectResumed | ProjectCancelled]] = {
    "pause": ProjectPaused, "resume": ProjectResumed, "cancel": ProjectCancelled}
# the project statuses (read model) each action may start from
ALLOWED = {
    "pause": {"created", "resumed"},
    "resume": {"paused"},
    "cancel": {"created", "paused", "resumed"},
}


class Refused(ValueError):
    """The action does not apply to the project as it stands (an HTTP 409, a CLI error)."""


def event(action: str, project_id: str, request_id: str, status: str, reason: str = "",
          who: str = "operator", now_ms: int | None = None) -> Event:
    if action not in ACTIONS:
        raise Refused(f"unknown action {action!r}; known: {', '.join(ACTIONS)}")
    if status not in ALLOWED[action]:
        raise Refused(f"cannot {action} project {project_id}: it is {status}")
    at = int(time.time() * 1000) if now_ms is None else now_ms
    payload = ACTIONS[action](reason)
    return Event(derive_id(project_id, f"project.{action}", at), project_id, request_id, None, at,
                 Actor(Role.CLIENT, None, who), payload)
