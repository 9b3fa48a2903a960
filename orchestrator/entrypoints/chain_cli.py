"""`orchestrator verify`: the project's hash chain recomputed from the log and from the read
model, and the first link where they, or a `project.sealed` head, disagree (exit 3)."""

from __future__ import annotations

import dataclasses
import json

import typer

from orchestrator.adapters import config
from orchestrator.core import exitcodes
from orchestrator.entrypoints.read_cli import JsonOpt, database, fail
from services.projections import seal

chain_app = typer.Typer()


@chain_app.command("verify")
def verify(project_id: str, as_json: bool = JsonOpt) -> None:
    """Recompute the project's hash chain from the log and from the read model; name the
    first bad link (the read model against the log, and every `project.sealed` head)."""

    settings = config.load()
    try:
        from_log = seal.log_rows(settings, project_id)
    except (TimeoutError, KeyError) as exc:
        fail(f"cannot read the log: {exc}")
    with database() as conn:
        report = seal.check(from_log, seal.stored_rows(conn, project_id))
    if not report.log and not report.stored:
        fail(f"no events of project {project_id}")
    found = {"project_id": project_id, "ok": report.ok, "log_length": len(report.log),
             "stored_length": len(report.stored), "head": report.log[-1].link if report.log else None,
             "seals": [dataclasses.asdict(s) for s in report.seals],
             "divergence": report.divergence._asdict() if report.divergence else None,
             "bad_seals": [{"seal": dataclasses.asdict(s), "first_bad_link": i} for s, i in report.bad_seals]}
    if as_json:
        typer.echo(json.dumps(found, indent=2))
    else:
        typer.echo(f"{project_id}: {len(report.log)} links in the log, "
                   f"{len(report.stored)} in the read model, "
                   f"head {found['head']}, {len(report.seals)} seal(s)")
        if (d := report.divergence) is not None:
            typer.echo(f"first bad link: #{d.at}: log has {d.expected}, read model has {d.found}")
        for s, i in report.bad_seals:
            typer.echo(f"seal {s.head[:12]}.. over {s.length} links: first bad link #{i}")
        typer.echo("ok: chain intact" if report.ok else "FAILED: the history diverges")
    if not report.ok:
        raise typer.Exit(exitcodes.INTEGRITY)
