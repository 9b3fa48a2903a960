"""`orchestrator schemas check|freeze`: the backward-transitive gate over schemas/history, and
recording the current schema there as a shipped version."""

from __future__ import annotations

import typer

from orchestrator.core import schemas

schemas_app = typer.Typer(no_args_is_help=True, help="The Avro event catalog.")


@schemas_app.command("check")
def schemas_check() -> None:
    """Fail unless the current schemas read every shipped version (backward-transitive)."""

    problems = schemas.check()
    for p in problems:
        typer.echo(f"{p.version}: {p.message}", err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"ok: current schema reads all {len(schemas.load_history())} shipped versions")


@schemas_app.command("freeze")
def schemas_freeze() -> None:
    """Record the current schema as a shipped version in schemas/history."""

    path = schemas.freeze()
    typer.echo(f"recorded {path}" if path else "already recorded")
