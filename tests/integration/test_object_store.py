"""Artifacts and the shared project directory in a real S3-compatible server (moto's
standalone server on loopback), through fsspec/s3fs as a cluster deployment uses them."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from s3server import CREDENTIALS, moto_server

from orchestrator.adapters import artifacts
from orchestrator.adapters.config import Settings
from orchestrator.adapters.executors import Outcome, Work, runner_for
from orchestrator.core.envelope import Attachment
from orchestrator.core.events import Executor, Role

REPO = Path(__file__).resolve().parents[2]
PY = sys.executable


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with moto_server(REPO / ".run" / "pytest" / "moto.log") as url:
        yield url


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket name (created by the first write, as in a new cluster)."""
    for key, value in {**CREDENTIALS, "AWS_ENDPOINT_URL": s3_endpoint}.items():
        monkeypatch.setenv(key, value)
    return f"s3://orch-{uuid.uuid4().hex[:12]}"


def test_artifacts_round_trip_through_s3_with_their_digest(bucket: str) -> None:
    ref = artifacts.store(f"{bucket}/artifacts", Attachment("reports/qa.xml", "application/xml", b"<ok/>"))
    assert ref.uri.startswith(f"{bucket}/artifacts/{ref.sha256[:2]}/{ref.sha256}/")
    assert ref.uri.endswith("/qa.xml") and ref.size == 5
    assert artifacts.fetch(ref) == b"<ok/>"
    again = artifacts.store(f"{bucket}/artifacts", Attachment("qa.xml", "application/xml", b"<ok/>"))
    assert again.uri == ref.uri  # content-addressed: written once
    with pytest.raises(artifacts.DigestMismatch):
        artifacts.verify(artifacts.read(ref.uri), "0" * 64, ref.size, ref.uri)


def _work(role: Role, run: str, project: str = "proj-s3") -> Work:
    executor = Executor(role, "command", None, {"run": run})
    return Work(project, "req-1", f"{project}/backend/{role.value}/FR-1", role, "backend", 1, 0,
                ("FR-1",), "t", None, executor)


def _pod(tmp_path: Path, name: str, bucket: str) -> Settings:
    """One worker pod: its own local run dir, the shared workspace root in S3."""
    return Settings(run_dir=tmp_path / name, workspace_root=f"{bucket}/workspaces")


def _run(settings: Settings, work: Work) -> Outcome:
    return asyncio.run(runner_for(work.executor, settings).run(work))


def _script(tmp_path: Path, body: str) -> str:
    path = tmp_path / f"s{uuid.uuid4().hex[:8]}.py"
    path.write_text("import os, pathlib\np = pathlib.Path(os.environ['ORCH_PROJECT_DIR'])\n" + body)
    return f"{PY} {path}"


def test_what_dev_writes_in_one_pod_qa_reads_in_another(tmp_path: Path, bucket: str) -> None:
    dev = _script(tmp_path, "(p / 'src').mkdir()\n(p / 'src' / 'lib.py').write_text('X = 1\\n')\n"
                            "(p / 'notes.txt').write_text('draft')\n")
    assert _run(_pod(tmp_path, "dev-pod", bucket), _work(Role.DEV, dev)).ok
    qa = _script(tmp_path, "assert (p / 'src' / 'lib.py').read_text() == 'X = 1\\n'\n"
                           "(p / 'notes.txt').unlink()\n(p / 'report.txt').write_text('passed')\n")
    outcome = _run(_pod(tmp_path, "qa-pod", bucket), _work(Role.QA, qa))
    assert outcome.ok, outcome.summary
    seen = _script(tmp_path, "names = sorted(x.relative_to(p).as_posix() for x in p.rglob('*')\n"
                             "               if x.is_file())\n"
                             "assert names == ['report.txt', 'src/lib.py'], names\n")
    outcome = _run(_pod(tmp_path, "devops-pod", bucket), _work(Role.DEVOPS, seen))
    assert outcome.ok, outcome.attachments[1].content.decode()


def test_projects_do_not_see_each_other(tmp_path: Path, bucket: str) -> None:
    write = _script(tmp_path, "(p / 'mine.txt').write_text('a')\n")
    assert _run(_pod(tmp_path, "a", bucket), _work(Role.DEV, write, project="proj-a")).ok
    empty = _script(tmp_path, "assert not any(p.iterdir()), list(p.iterdir())\n")
    outcome = _run(_pod(tmp_path, "b", bucket), _work(Role.QA, empty, project="proj-b"))
    assert outcome.ok, outcome.attachments[1].content.decode()


def test_an_unreachable_store_fails_the_task_with_the_reason(tmp_path: Path, bucket: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from s3fs import S3FileSystem

    from orchestrator.adapters.stack.proc import free_port

    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    S3FileSystem.clear_instance_cache()  # fsspec reuses clients made under the old endpoint
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    settings = _pod(tmp_path, "lost", f"s3://orch-unreachable-{uuid.uuid4().hex[:8]}")
    outcome = _run(settings, _work(Role.DEV, _script(tmp_path, "pass\n")))
    assert not outcome.ok
    assert outcome.summary.startswith("pulling the project directory failed")
