"""`orchestrator kafka acls apply [--dry-run]`: the ACL table of orchestrator/adapters/acls.py on a broker.

Run as the admin principal (the broker's super user): a cluster's provision Job does so with
`ORCH_KAFKA_SASL_USERNAME=admin`. Creating a binding that exists is a no-op, so applying again
changes nothing; bindings the table no longer names are left alone (remove those by hand).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from orchestrator.adapters import acls, config
from orchestrator.adapters.stack import kafka_secure
from orchestrator.adapters.stack.proc import StackError

if TYPE_CHECKING:
    from orchestrator.adapters.config import Settings

kafka_app = typer.Typer(no_args_is_help=True, help="Kafka security on a broker.")
acls_app = typer.Typer(no_args_is_help=True, help="The ACL table (docs/security.md).")
kafka_app.add_typer(acls_app, name="acls")


def table_lines(settings: Settings) -> list[str]:
    """One tab-separated line per allow rule: principal, resource, name, pattern, operation."""

    return ["\t".join((g.principal, g.resource, g.name, "prefixed" if g.prefixed else "literal",
                       g.operation)) for g in acls.table(settings)]


@acls_app.command("apply")
def apply(
    dry_run: bool = typer.Option(False, "--dry-run", help="print the table; connect to nothing"),
    timeout: float = typer.Option(60.0, help="seconds to wait for the broker to enforce them"),
) -> None:
    """Create every ACL binding of the table for ORCH_TOPIC_PREFIX (idempotent)."""

    try:
        settings = config.load()
        lines = table_lines(settings)
    except ValueError as exc:  # a bad ORCH_PRINCIPAL_TENANTS
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    if dry_run:
        typer.echo("\n".join(lines))
        return
    try:
        count = kafka_secure.apply_acls(settings, timeout)
    except StackError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"applied {count} ACL bindings for {settings.topic_prefix}.* "
               f"as {settings.kafka_sasl_username or 'an unauthenticated client'}")
