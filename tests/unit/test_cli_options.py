"""The command's own options: --version, shell completion, and exit codes that mean one thing."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version

import click
from typer.testing import CliRunner

from orchestrator.adapters import client
from orchestrator.core import exitcodes
from orchestrator.entrypoints.cli import app


def test_version_prints_the_installed_version() -> None:
    done = CliRunner().invoke(app, ["--version"])
    assert done.exit_code == 0 and done.output.strip() == f"orchestrator {version('delivery-orchestrator')}"


def completion(**env: str) -> str:
    return subprocess.run([sys.executable, "-m", "orchestrator"], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=60, check=True).stdout


def test_bash_completion_sources_with_the_click_spelling_and_completes_commands() -> None:
    script = completion(_ORCHESTRATOR_COMPLETE="bash_source")
    assert "_orchestrator_completion()" in script and "complete " in script
    words = completion(_ORCHESTRATOR_COMPLETE="complete_bash", COMP_WORDS="orchestrator sta", COMP_CWORD="1")
    assert set(words.split()) == {"stack", "status"}


def test_exit_codes_are_distinct_and_only_usage_errors_exit_2() -> None:
    codes = {k: v for k, v in vars(exitcodes).items() if k.isupper() and isinstance(v, int)}
    assert len(set(codes.values())) == len(codes)
    assert exitcodes.USAGE == click.UsageError("x").exit_code == 2
    assert 2 not in {v for k, v in codes.items() if k != "USAGE"}
    assert set(client.TERMINAL) | {"timeout", "project.cancelled"} == set(exitcodes.BY_OUTCOME)
    assert exitcodes.BY_OUTCOME["project.completed"] == exitcodes.OK
    assert len(set(exitcodes.BY_OUTCOME.values())) == len(exitcodes.BY_OUTCOME)


def test_a_mistyped_option_is_a_usage_error() -> None:
    assert CliRunner().invoke(app, ["tasks", "p", "--no-such-option"]).exit_code == exitcodes.USAGE
