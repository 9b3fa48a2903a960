"""What `watch` and `submit --wait --progress` show while a project runs: a progress bar per module
(tasks verified of the total) above the latest events."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.progress import BarColumn, Progress, TextColumn

from orchestrator.entrypoints.read_cli import _table


def view(project: dict[str, Any], recent: list[dict[str, Any]]) -> Group:
    bars = Progress(TextColumn("{task.description:<8}"), BarColumn(),
                    TextColumn("{task.completed}/{task.total} verified"))
    for module in project["module_list"]:
        bars.add_task(module["area"], total=max(module["tasks_total"], 1),
                      completed=module["tasks_verified"])
    latest = _table(f"{project['project_id']}: {project['status']}", recent,
                    ["occurred_at", "type", "actor_role"])
    return Group(bars, latest)
