"""QA of the python-lib example: the acceptance tests of its requirements, run by pytest.

QA owns the tests (Dev never sees them): one file per requirement in the workspace, run
against the project's `src` with `python -m pytest`, one run per requirement so the
failing ids are known. Failing ids go to `failures.txt` (the command executor reads
them) and the exit code is 1; the JUnit reports are declared as artifacts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = {
    "FR-1": '''\
from textkit import slugify


def test_title_becomes_a_slug():
    assert slugify("Hello, World!") == "hello-world"


def test_runs_of_punctuation_collapse():
    assert slugify("  Delivery -- Orchestrator  ") == "delivery-orchestrator"
''',
    "FR-2": '''\
from textkit import word_count


def test_simple_sentence():
    assert word_count("one two three") == 3


def test_repeated_whitespace_is_one_separator():
    assert word_count("a  b\\tc\\n") == 3


def test_empty_text_has_no_words():
    assert word_count("") == 0
''',
}


def main() -> int:
    project = Path(os.environ["ORCH_PROJECT_DIR"])
    requirements = [r for r in os.environ["ORCH_REQUIREMENTS"].split(",") if r]
    env = {**os.environ, "PYTHONPATH": str(project / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
    failing = []
    for requirement in requirements:
        if requirement not in TESTS:
            print(f"no acceptance tests for {requirement}", file=sys.stderr)
            failing.append(requirement)
            continue
        test = Path("tests") / f"test_{requirement.replace('-', '_').lower()}.py"
        test.parent.mkdir(exist_ok=True)
        test.write_text(TESTS[requirement])
        report = f"report-{requirement}.xml"
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               f"--junitxml={report}", str(test)], env=env, check=False)
        print(f"{requirement}: pytest exit {done.returncode}", flush=True)
        if done.returncode != 0:
            failing.append(requirement)
    Path("failures.txt").write_text("".join(f"{r}\n" for r in failing))
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
