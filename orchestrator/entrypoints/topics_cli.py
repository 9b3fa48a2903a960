"""`orchestrator topics create`: the log, ingestion, dead-letter and changelog topics made
ahead of the services; existing ones are left alone, so running it again changes nothing."""

from __future__ import annotations

import typer

from orchestrator.adapters import config, kafka_topics

topics_app = typer.Typer(no_args_is_help=True, help="Kafka topics.")


@topics_app.command("create")
def topics_create() -> None:
    """Create the event log, ingestion, dead-letter and changelog topics (idempotent)."""

    created = kafka_topics.provision(config.load(), changelogs=True)
    typer.echo(f"created: {', '.join(created) or 'nothing (all exist)'}")
