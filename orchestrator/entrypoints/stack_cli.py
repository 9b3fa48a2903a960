"""`orchestrator stack up|down|status`: expected failures print one line, never a traceback."""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable
from typing import Any

import typer

from orchestrator.adapters import stack
from orchestrator.adapters.config import load
from orchestrator.adapters.stack import kafka_secure

stack_app = typer.Typer(no_args_is_help=True, help="The local Kafka broker and PostgreSQL.")


def _guard(action: Callable[[], Any]) -> Any:
    try:
        return action()
    except stack.StackError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None


@stack_app.command()
def up(secure: bool = typer.Option(
        False, "--secure", help="Kafka on SASL_SSL only: SCRAM users, its own CA, ACLs per service"),
       ) -> None:
    """Start Kafka and PostgreSQL (idempotent); print where they listen."""
    t0 = time.monotonic()
    result = _guard(lambda: stack.up(load(), secure=secure))
    for name, info in result.items():
        where = info.get("bootstrap") or info.get("url")
        pid = f" pid {info['pid']}" if info.get("pid") else ""
        typer.echo(f"{name}: {info['action']} at {where}{pid}")
        if info.get("secure"):
            typer.echo(f"  SASL_SSL, SCRAM-SHA-512; CA {info['ca']}; users and passwords {info['users']}"
                       + (f"; {info['acls']} ACLs" if "acls" in info else ""))
            typer.echo("  a principal's client settings: eval \"$(orchestrator stack env PRINCIPAL)\"")
    typer.echo(f"ready in {time.monotonic() - t0:.1f}s")


@stack_app.command()
def env(principal: str = typer.Argument(..., help="admin, a service name, ingest or reader")) -> None:
    """Print the ORCH_KAFKA_* exports that make a process `principal` on the secure broker."""

    settings = load()
    found = _guard(lambda: kafka_secure.as_principal(settings, principal))
    for key, value in {"ORCH_KAFKA_BOOTSTRAP": found.bootstrap, **kafka_secure.env_of(found)}.items():
        typer.echo(f"export {key}={shlex.quote(value)}")


@stack_app.command()
def down() -> None:
    """Stop what `stack up` started, by pid."""
    for name, what in _guard(lambda: stack.down(load())).items():
        typer.echo(f"{name}: {what}")


@stack_app.command()
def status(as_json: bool = typer.Option(False, "--json", help="machine-readable")) -> None:
    """Tell what runs where."""
    found = _guard(lambda: stack.status(load()))
    if as_json:
        typer.echo(json.dumps(found, indent=2, sort_keys=True))
        return
    for name, info in found.items():
        if info["external"]:
            typer.echo(f"{name}: external at {info['address']}")
            continue
        where = info.get("bootstrap") or info.get("url") or "-"
        state = "running" if info["running"] else "stopped"
        pid = f" pid {info['pid']}" if info.get("pid") else ""
        typer.echo(f"{name}: {state} at {where}{pid}")
