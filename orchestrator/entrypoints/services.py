"""`orchestrator service NAME`, and which code runs behind each NAME: registration as plain data."""

from __future__ import annotations

from importlib import import_module

import typer

from orchestrator import shell
from orchestrator.adapters import config
from orchestrator.core import actors

SERVICES = actors.SERVICES
AREAS = (*actors.AREAS, actors.ALL)


def run_service(name: str, area: str) -> None:
    settings = config.load()
    if name in actors.ACTORS:

        definition = import_module(f"services.{name}.main").definition()
        shell.run(definition, area, settings)
    elif name == "projector":
        import_module("services.projections.main").run_projector(settings)
    elif name == "api":
        import_module("services.projections.main").run_api(settings)
    else:
        raise ValueError(f"unknown service {name!r}")


def service(
    name: str = typer.Argument(..., help=f"one of: {', '.join(SERVICES)}"),
    area: str = typer.Option("all", help="backend | web | mobile | all"),
) -> None:
    """Run one service in the foreground (the entrypoint each container runs)."""
    if name not in SERVICES:
        raise typer.BadParameter(f"unknown service {name!r}; expected one of {', '.join(SERVICES)}")
    if area not in AREAS:
        raise typer.BadParameter(f"unknown area {area!r}; expected one of {', '.join(AREAS)}")

    run_service(name, area)
