"""The `llm` executor against a scripted OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from llm_server import ScriptedModel, call, say
from servers import serving

from orchestrator.adapters.config import Settings
from orchestrator.adapters.executors import Outcome, Work, runner_for
from orchestrator.adapters.executors.workspace import project_dir
from orchestrator.core.events import Executor, Role

pytestmark = pytest.mark.integration

CHECK = f"{sys.executable} check.py"
HANG = f"{sys.executable} hang.py"
HANGS = """\
import pathlib, subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
pathlib.Path("child.pid").write_text(str(child.pid))
child.wait()
"""
SCRIPTS = {
    "writes-and-checks": [
        call("write_file", 120, 40, path="src/app.py", content="print('hello')\n"),
        call("write_file", 150, 30, path="check.py",
             content="import os, pathlib\nprint('ok', pathlib.Path('src/app.py').exists(), "
                     "os.environ['ORCH_TASK_ID'])\n"),
        call("run_command", 200, 20, command=CHECK),
        call("read_file", 220, 10, path="src/app.py"),
        say("implemented FR-1", 300, 15),
    ],
    "tries-a-shell": [call("run_command", command="rm -rf /tmp/x"), say("gave up")],
    "escapes": [call("write_file", path="../../outside.txt", content="x"),
                call("read_file", path="/etc/hostname"), say("could not")],
    "never-ends": [call("read_file", path="missing.txt")],
    "hangs": [call("write_file", path="hang.py", content=HANGS), call("run_command", command=HANG),
              say("it hung")],
    "judges": [call("finish", ok=False, summary="FR-2 does not hold", failures=["FR-2"])],
}


@pytest.fixture
def model() -> Iterator[tuple[ScriptedModel, str]]:
    scripted = ScriptedModel(SCRIPTS)
    with serving(scripted.app) as url:
        yield scripted, f"{url}/v1"


def work(base_url: str, model: str, role: Role = Role.DEV, **options: str) -> Work:
    executor = Executor(role, "llm", None, {"base_url": base_url, "model": model,
                                            "command": CHECK, "max_steps": "8", **options})
    return Work("p-1", "r-1", f"p-1/backend/{role.value}/FR-1", role, "backend", 1, 0,
                ("FR-1", "FR-2"), "Say hello", None, executor, ("prints hello",))


def run(tmp_path: Path, w: Work) -> Outcome:
    return asyncio.run(runner_for(w.executor, Settings(run_dir=tmp_path)).run(w))


def test_a_scripted_session_writes_files_runs_the_command_and_completes(
        tmp_path: Path, model: tuple[ScriptedModel, str]) -> None:
    scripted, url = model
    w = work(url, "writes-and-checks", cost_in_per_1k="0.5", cost_out_per_1k="2")
    outcome = run(tmp_path, w)
    assert outcome.ok and outcome.summary == "implemented FR-1"
    shared = project_dir(Settings(run_dir=tmp_path), w)
    assert (shared / "src/app.py").read_text() == "print('hello')\n"
    files = {a.name: a.content for a in outcome.attachments}
    assert files["src/app.py"] == b"print('hello')\n" and "check.py" in files
    assert "transcript.json" in files
    results = scripted.tool_results("writes-and-checks")
    assert results[2] == f"exit 0\nok True {w.task_id}\n" and results[3] == "print('hello')\n"
    assert (outcome.usage.tokens_in, outcome.usage.tokens_out) == (990, 115)
    assert outcome.usage.cost == pytest.approx(0.990 * 0.5 + 0.115 * 2)
    first = scripted.requests["writes-and-checks"][0]
    assert first["tools"] and "prints hello" in first["messages"][1]["content"]
    assert str(shared) in first["messages"][1]["content"]


def test_a_command_other_than_the_allowed_one_is_refused_to_the_model(
        tmp_path: Path, model: tuple[ScriptedModel, str]) -> None:
    scripted, url = model
    outcome = run(tmp_path, work(url, "tries-a-shell"))
    assert outcome.ok and outcome.summary == "gave up"
    [refused] = scripted.tool_results("tries-a-shell")
    assert refused.startswith("error: command refused: only") and "check.py" in refused


def test_paths_outside_the_workspace_are_refused(
        tmp_path: Path, model: tuple[ScriptedModel, str]) -> None:
    scripted, url = model
    outcome = run(tmp_path, work(url, "escapes"))
    assert [a.name for a in outcome.attachments] == ["transcript.json"]
    assert not list(tmp_path.rglob("outside.txt"))
    results = scripted.tool_results("escapes")
    assert results == ["error: path '../../outside.txt' is outside the workspace",
                       "error: path '/etc/hostname' is outside the workspace"]


def test_a_model_that_never_finishes_fails_the_task_at_the_step_limit(
        tmp_path: Path, model: tuple[ScriptedModel, str]) -> None:
    scripted, url = model
    outcome = run(tmp_path, work(url, "never-ends", max_steps="3"))
    assert not outcome.ok
    assert outcome.summary == "step limit: the model did not finish within 3 steps"
    assert len(scripted.requests["never-ends"]) == 3
    assert outcome.usage.tokens_in == 30


def test_a_command_over_its_timeout_is_killed_with_its_process_group(
        tmp_path: Path, model: tuple[ScriptedModel, str]) -> None:
    scripted, url = model
    w = work(url, "hangs", command=HANG, command_timeout="1s")
    assert run(tmp_path, w).ok
    assert scripted.tool_results("hangs")[1] == "error: command timed out after 1s; killed"
    child = int((project_dir(Settings(run_dir=tmp_path), w) / "child.pid").read_text())
    deadline = time.monotonic() + 5  # SIGKILL is delivered at once; the exit takes a moment
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(child)


def _running(pid: int) -> bool:
    """Alive and not a zombie: a killed grandchild stays a zombie until its reaper (init) runs."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_qa_verdict_by_finish_names_its_failures(
        tmp_path: Path, model: tuple[ScriptedModel, str]) -> None:
    _, url = model
    outcome = run(tmp_path, work(url, "judges", Role.QA))
    assert not outcome.ok and outcome.failures == ("FR-2",)
    assert outcome.summary == "FR-2 does not hold"


def test_misconfiguration_and_an_unknown_model_fail_with_a_reason(
        tmp_path: Path, model: tuple[ScriptedModel, str], monkeypatch: pytest.MonkeyPatch) -> None:
    _, url = model
    missing = Executor(Role.DEV, "llm", None, {"model": "m"})
    w = work(url, "x")
    outcome = run(tmp_path, Work(*[getattr(w, f) for f in w.__dataclass_fields__][:10], missing))
    assert not outcome.ok and "option `base_url` is missing" in outcome.summary
    monkeypatch.delenv("NO_SUCH_KEY", raising=False)
    keyless = run(tmp_path, work(url, "writes-and-checks", api_key_env="NO_SUCH_KEY"))
    assert not keyless.ok and "$NO_SUCH_KEY is not set" in keyless.summary
    unknown = run(tmp_path, work(url, "no-such-model"))
    assert not unknown.ok and "404" in unknown.summary
