"""`orchestrator tokens create|list|revoke`: the API's bearer tokens, kept in PostgreSQL.

These talk to the database as its owner (`ORCH_DATABASE_URL`): whoever runs them already
holds more than any token grants.
"""

from __future__ import annotations

import json

import typer

from orchestrator.adapters import config, tokens

tokens_app = typer.Typer(no_args_is_help=True, help="API bearer tokens.")


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


@tokens_app.command("create")
def create(
    tenant: list[str] = typer.Option(..., "--tenant", help="a tenant the token acts for (repeatable)"),
    scope: list[str] = typer.Option(..., "--scope", help="read | submit | operate | admin (repeatable)"),
    name: str = typer.Option("", help="what the token is for"),
) -> None:
    """Make a token; prints it once (only its hash is stored)."""

    try:
        typer.echo(tokens.create(config.load().dsn, tenant, scope, name))
    except (ValueError, RuntimeError) as exc:
        _fail(str(exc))


@tokens_app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="machine-readable output")) -> None:
    """Every token: id, tenants, scopes, when made and revoked; never a secret."""

    rows = tokens.listing(config.load().dsn)
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for r in rows:
        state = f"revoked {r['revoked_at']}" if r["revoked_at"] else "live"
        tenants, scopes = ",".join(r["tenants"]), ",".join(r["scopes"])
        typer.echo(f"{r['token_id']}  {tenants}  {scopes}  {state}  {r['name']}")


@tokens_app.command("revoke")
def revoke(token_id: str = typer.Argument(..., help="the id (the part after orch_, before _)")) -> None:
    """Revoke a token: the API refuses it within ORCH_API_TOKEN_CACHE_S seconds."""

    if not tokens.revoke(config.load().dsn, token_id):
        _fail(f"no live token {token_id!r}")
    typer.echo(f"revoked {token_id}")
