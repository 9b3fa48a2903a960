"""The `orchestrator` command: one Typer app; each group lives beside the code it drives."""

from __future__ import annotations

import os
from importlib.metadata import version as installed_version

import typer

from orchestrator.core import exitcodes
from orchestrator.entrypoints.chain_cli import chain_app
from orchestrator.entrypoints.control_cli import approval_app, project_app
from orchestrator.entrypoints.delivery_cli import delivery_app
from orchestrator.entrypoints.demo_cli import demo
from orchestrator.entrypoints.dlq import dlq_app
from orchestrator.entrypoints.evidence_cli import evidence_app
from orchestrator.entrypoints.follow_cli import follow_app
from orchestrator.entrypoints.kafka_cli import kafka_app
from orchestrator.entrypoints.org_cli import org_app
from orchestrator.entrypoints.projections_cli import projections_app
from orchestrator.entrypoints.projects_cli import projects_app
from orchestrator.entrypoints.schemas_cli import schemas_app
from orchestrator.entrypoints.services import service
from orchestrator.entrypoints.stack_cli import stack_app
from orchestrator.entrypoints.submit_cli import submit
from orchestrator.entrypoints.task_cli import artifacts_app, task_app
from orchestrator.entrypoints.tokens_cli import tokens_app
from orchestrator.entrypoints.topics_cli import topics_app
from orchestrator.entrypoints.trace_cli import trace_app

app = typer.Typer(no_args_is_help=True, add_completion=True, help="Event-driven delivery orchestrator.",
                  epilog="Exit codes: 0 ok, 1 failed, 2 usage, 3 integrity, 4 rejected, 5 blocked, "
                         "6 cancelled, 7 timeout, 8 refused (README: CLI exit codes).")

app.add_typer(stack_app, name="stack")


def _version(shown: bool) -> None:
    if shown:
        typer.echo(f"orchestrator {installed_version('delivery-orchestrator')}")
        raise typer.Exit(exitcodes.OK)


@app.callback()
def options(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Event-driven delivery orchestrator."""


COMPLETE_VAR = "_ORCHESTRATOR_COMPLETE"


def main() -> None:
    # Click spells the completion instruction `bash_source`, Typer `source_bash`: take both
    shell, _, instruction = os.environ.get(COMPLETE_VAR, "").partition("_")
    if shell in ("bash", "zsh", "fish") and instruction in ("source", "complete"):
        os.environ[COMPLETE_VAR] = f"{instruction}_{shell}"
    app(prog_name="orchestrator")


app.command()(service)
app.command()(submit)
app.command()(demo)
# the read commands, each group its own module; the order here is the order `--help` lists
for read_group in (projects_app, evidence_app, follow_app, chain_app, trace_app, delivery_app, org_app):
    app.add_typer(read_group)
app.add_typer(projections_app, name="projections", help="The PostgreSQL read models.")
app.add_typer(dlq_app, name="dlq", help="Dead letters: inspect and re-drive.")
app.add_typer(task_app, name="task", help="Settle a manual task by hand.")
app.add_typer(project_app, name="project", help="Pause, resume or cancel a project.")
app.add_typer(approval_app, name="approval", help="The approvals the policy asks for.")
app.add_typer(artifacts_app, name="artifacts", help="Fetch and verify artifacts.")
app.add_typer(tokens_app, name="tokens")
app.add_typer(kafka_app, name="kafka")
app.add_typer(topics_app, name="topics")
app.add_typer(schemas_app, name="schemas")


if __name__ == "__main__":
    main()
