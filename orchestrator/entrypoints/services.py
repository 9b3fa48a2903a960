"""Which code runs behind `orchestrator service NAME`: registration as plain data."""

from __future__ import annotations

from importlib import import_module

from orchestrator import shell
from orchestrator.adapters import config
from orchestrator.core.actors import ACTORS


def run_service(name: str, area: str) -> None:
    settings = config.load()
    if name in ACTORS:

        definition = import_module(f"services.{name}.main").definition()
        shell.run(definition, area, settings)
    elif name == "projector":
        import_module("services.projections.main").run_projector(settings)
    elif name == "api":
        import_module("services.projections.main").run_api(settings)
    else:
        raise ValueError(f"unknown service {name!r}")
