"""The `command` executor: real processes, no servers (workspace under a temporary run dir)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

import pytest

from orchestrator.adapters.config import Settings
from orchestrator.adapters.executors import Outcome, Work, runner_for
from orchestrator.adapters.executors.workspace import workspace
from orchestrator.core.events import Executor, Role, Scope

PY = sys.executable


def work(role: Role = Role.DEV, reqs: tuple[str, ...] = ("FR-1",), attempt: int = 1, round: int = 0,
         **options: str) -> Work:
    scope = Scope.TOTAL if role == Role.DEVOPS else None
    executor = Executor(role, "command", None, options)
    return Work("proj-1", "req-1", f"proj-1/backend/{role.value}/FR-1", role, "backend", attempt, round,
                reqs, "t", scope, executor)


def run(w: Work, tmp_path: Path) -> Outcome:
    return asyncio.run(runner_for(w.executor, Settings(run_dir=tmp_path)).run(w))


def script(tmp_path: Path, body: str) -> str:
    path = tmp_path / f"s{abs(hash(body))}.py"
    path.write_text(body)
    return f"{PY} {path}"


def test_success_sees_its_context_and_attaches_output_and_declared_files(tmp_path: Path) -> None:
    cmd = script(tmp_path, "import json, os, pathlib\n"
                 "t = json.load(open('task.json'))\n"
                 "print(os.environ['ORCH_TASK_ID'], os.environ['ORCH_REQUIREMENTS'], t['attempt'])\n"
                 "pathlib.Path('out').mkdir(); pathlib.Path('out/r.json').write_text('{}')\n"
                 "assert os.getcwd() == os.environ['ORCH_WORKSPACE']\n"
                 "assert os.path.isdir(os.environ['ORCH_PROJECT_DIR'])\n")
    w = work(run=cmd + " {task_id} {round}", artifacts="out/*.json, ../*")
    outcome = run(w, tmp_path)
    assert outcome.ok, outcome.summary
    names = {a.name: a for a in outcome.attachments}
    assert set(names) == {"stdout.txt", "stderr.txt", "out/r.json"}  # nothing outside the workspace
    assert names["stdout.txt"].content == b"proj-1/backend/dev/FR-1 FR-1 1\n"
    ws = workspace(Settings(run_dir=tmp_path), w)
    assert ws == tmp_path.resolve() / "workspaces" / "proj-1_backend_dev_FR-1" / "1-0"
    assert json.loads((ws / "task.json").read_text())["task_id"] == w.task_id


def test_a_non_zero_exit_fails_dev_with_the_stderr_tail(tmp_path: Path) -> None:
    cmd = script(tmp_path, "import sys\nprint('boom: no such table', file=sys.stderr)\nsys.exit(3)\n")
    outcome = run(work(run=cmd), tmp_path)
    assert not outcome.ok and outcome.summary == "exit 3: boom: no such table"


def test_qa_failures_come_from_failures_txt_else_every_requirement(tmp_path: Path) -> None:
    listed = script(tmp_path, "open('failures.txt','w').write('FR-2\\nFR-9\\n'); raise SystemExit(1)\n")
    outcome = run(work(Role.QA, ("FR-1", "FR-2"), run=listed), tmp_path)
    assert not outcome.ok and outcome.failures == ("FR-2",)
    silent = script(tmp_path, "raise SystemExit(1)\n")
    outcome = run(work(Role.QA, ("FR-1", "FR-2"), round=1, run=silent), tmp_path)
    assert outcome.failures == ("FR-1", "FR-2")
    passing = script(tmp_path, "pass\n")
    assert run(work(Role.QA, ("FR-1",), round=2, run=passing), tmp_path).ok


def test_devops_smoke_verdict_from_smoke_txt(tmp_path: Path) -> None:
    cmd = script(tmp_path, "open('smoke.txt','w').write('failed\\nimport error\\n')\n")
    outcome = run(work(Role.DEVOPS, run=cmd), tmp_path)
    assert outcome.ok and outcome.smoke_ok is False
    ok = run(work(Role.DEVOPS, round=1, run=script(tmp_path, "print('deployed')\n")), tmp_path)
    assert ok.ok and ok.smoke_ok is None


def test_a_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    # the command starts a grandchild that would outlive it, and both ignore nothing
    cmd = script(tmp_path, "import subprocess, sys, time\n"
                 "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
                 "open('child.pid', 'w').write(str(child.pid))\n"
                 "print('started', flush=True)\ntime.sleep(60)\n")
    w = work(run=cmd, timeout="1s")
    began = time.monotonic()
    outcome = run(w, tmp_path)
    assert time.monotonic() - began < 10
    assert not outcome.ok and "timed out after 1s" in outcome.summary
    child = int((workspace(Settings(run_dir=tmp_path), w) / "child.pid").read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.1)
    assert not _alive(child)
    assert outcome.attachments[0].content == b"started\n"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by init) is gone for our purpose
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_huge_output_is_truncated_to_the_cap_without_buffering_it(tmp_path: Path) -> None:
    import resource

    cmd = script(tmp_path, "import sys\nchunk = b'x' * (1 << 20)\n"
                 "for _ in range(200):\n    sys.stdout.buffer.write(chunk)\n")  # 200 MiB
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcome = run(work(run=cmd, output_cap="65536"), tmp_path)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert outcome.ok
    out = outcome.attachments[0]
    assert out.content.startswith(b"x" * 65536)
    assert out.content[65536:] == f"\n[truncated: {200 << 20} bytes written, the first 65536 kept]\n".encode()
    assert grown_kib < 50 * 1024  # far below the 200 MiB written


def test_a_missing_binary_is_a_clear_failure(tmp_path: Path) -> None:
    outcome = run(work(run="no-such-binary-xyz --flag {workspace}"), tmp_path)
    assert not outcome.ok and outcome.summary.startswith("command not found: 'no-such-binary-xyz'")


@pytest.mark.parametrize("options, message", [
    ({}, "option `run`"),
    ({"run": "echo {nope}"}, "nope"),
    ({"run": "echo", "timeout": "soon"}, "duration"),
])
def test_bad_configuration_fails_without_running(tmp_path: Path, options: dict[str, str],
                                                 message: str) -> None:
    outcome = run(work(**options), tmp_path)
    assert not outcome.ok and "misconfigured" in outcome.summary and message in outcome.summary
