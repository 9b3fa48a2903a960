"""Where a task's process runs and what it is told: workspace, project directory, context.

Shared by the `command` and `llm` executors (docs/executors.md, section `command`).
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import sys
from dataclasses import asdict
from pathlib import Path

from orchestrator.adapters.config import Settings
from orchestrator.adapters.executors import shared_dir
from orchestrator.core.worker.work import Work

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def sanitize(name: str) -> str:
    return _UNSAFE.sub("_", name).strip("._") or "task"


def project_dir(settings: Settings, work: Work) -> Path:
    """The directory the command sees as the project's: the shared one on a local root,
    else this task's private copy of the remote one (see `shared_dir`)."""
    if shared_dir.is_remote(settings.workspaces):
        return workspace(settings, work).with_name(f"{work.attempt}-{work.round}.project")
    return Path(settings.workspaces) / sanitize(work.project_id) / "project"


async def pull_project(settings: Settings, work: Work, local: Path) -> shared_dir.Manifest | None:
    """Before the command: the remote project directory copied into `local` (None: local root)."""
    local_root = not shared_dir.is_remote(settings.workspaces)
    if local_root:
        local.mkdir(parents=True, exist_ok=True)
        return None
    shutil.rmtree(local, ignore_errors=True)  # a redelivered task starts from the remote state
    remote = shared_dir.remote_prefix(settings.workspaces, sanitize(work.project_id))
    return await asyncio.to_thread(shared_dir.pull, remote, local)


async def push_project(settings: Settings, work: Work, local: Path,
                       pulled: shared_dir.Manifest | None) -> None:
    if pulled is not None:
        remote = shared_dir.remote_prefix(settings.workspaces, sanitize(work.project_id))
        await asyncio.to_thread(shared_dir.push, local, remote, pulled)


def workspace(settings: Settings, work: Work) -> Path:
    """The task's own scratch directory: always local (its outputs become artifacts)."""
    return (settings.run_dir.resolve() / "workspaces" / sanitize(work.task_id)
            / f"{work.attempt}-{work.round}")


def work_json(work: Work) -> dict[str, object]:
    body = asdict(work)
    body["role"] = work.role.value
    body["scope"] = work.scope.value if work.scope else None
    body["requirement_ids"] = list(work.requirement_ids)
    body["executor"] = {"role": work.executor.role.value, "kind": work.executor.kind,
                        "area": work.executor.area, "options": dict(work.executor.options)}
    return body


def command_line(template: str, work: Work, ws: Path, shared: Path) -> list[str]:
    values = {
        "workspace": str(ws), "project_dir": str(shared), "task_id": work.task_id,
        "role": work.role.value, "area": work.area, "attempt": work.attempt, "round": work.round,
        "requirements": ",".join(work.requirement_ids), "scope": work.scope.value if work.scope else "",
        "python": sys.executable, "cwd": os.getcwd(), "project_id": work.project_id,
    }
    words = [word.format_map(values) for word in shlex.split(template)]
    if not words:
        raise ValueError("option `run` is empty")
    return words


def context_env(work: Work, ws: Path, shared: Path) -> dict[str, str]:
    return {
        "ORCH_TASK_ID": work.task_id, "ORCH_ROLE": work.role.value, "ORCH_AREA": work.area,
        "ORCH_ATTEMPT": str(work.attempt), "ORCH_ROUND": str(work.round),
        "ORCH_REQUIREMENTS": ",".join(work.requirement_ids), "ORCH_PROJECT_ID": work.project_id,
        "ORCH_REQUEST_ID": work.request_id, "ORCH_WORKSPACE": str(ws), "ORCH_PROJECT_DIR": str(shared),
        "ORCH_SCOPE": work.scope.value if work.scope else "",
    }
