"""`orchestrator demo`: the stack, every service and one spec run to its end, then a summary
(the fleet and the run itself are in demo.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer

from orchestrator.adapters import config, kafka_topics, stack
from orchestrator.entrypoints import demo as demo_run
from orchestrator.entrypoints.read_cli import fail


def demo(
    spec: Path = typer.Option(Path("examples/specs/shop.yaml"), help="the spec to run"),
    keep: bool = typer.Option(False, help="leave the stack and services running afterwards"),
    timeout: float = typer.Option(180.0, help="seconds before giving up"),
    as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
) -> None:
    """Start the stack and every service, run a spec to its end, summarize."""
    if not spec.is_file():
        fail(f"no such spec: {spec}")
    settings = config.load()
    began = time.monotonic()
    try:
        stack.up(settings)
    except stack.StackError as exc:
        fail(str(exc))
    kafka_topics.provision(settings)  # before any service starts: each one checks its topics at start
    fleet = demo_run.Fleet(settings)
    try:
        demo_run.start_actors(fleet)
        api = demo_run.start_read_side(fleet)
        typer.echo(f"services started: {', '.join(fleet.procs)}; submitting {spec}")
        outcome, events = demo_run.run(settings, spec, timeout, echo=not as_json)
        project = next((e.project_id for e in events if e.type == "project.created"), "")
        terminal = outcome.removeprefix("project.")
        read = demo_run.read_model(settings, project, terminal, 30) if project else {}
        dead = fleet.dead()
    finally:
        if not keep:
            fleet.stop()
            stack.down(settings)
    summary = {"outcome": outcome, "project": project, "seconds": round(time.monotonic() - began, 1),
               **read, **demo_run.summarize(events), "dead_services": dead,
               "artifact_root": settings.artifacts, "logs": str(settings.run_dir / "logs"),
               "api": f"{api}/projects/{project}" + ("" if keep else " (stopped; --keep leaves it up)")}
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        for key, value in summary.items():
            typer.echo(f"{key:>16}: {value}")
    if outcome != "project.completed":
        raise typer.Exit(1)
