"""`orchestrator task complete|fail` (a person's verdict) and `orchestrator artifacts get`."""

from __future__ import annotations

import json
import mimetypes
import sys
from pathlib import Path

import typer

from orchestrator.adapters import artifacts, config
from orchestrator.core import exitcodes
from orchestrator.core.envelope import Attachment
from orchestrator.entrypoints import control_cli
from orchestrator.entrypoints.read_cli import database, fail
from services.projections import verdicts, views
from services.projections.main import reader_dsn

task_app = typer.Typer(no_args_is_help=True, help="Settle a manual task by hand.")
artifacts_app = typer.Typer(no_args_is_help=True, help="The artifact store.")

ArtifactOpt = typer.Option(None, "--artifact", help="a file to attach (repeatable)")
NoteOpt = typer.Option("", "--note", help="what was done, or what is wrong")


@task_app.command("reassign")
def reassign(task: str, executor: str = typer.Option(..., "--executor", help="simulated, command, "
                                                     "http or manual"),
             option: list[str] = typer.Option([], "--option", help="KEY=VALUE (repeatable)"),
             reason: str = typer.Option("", "--reason", help="why (kept in the event)")) -> None:
    """Hand TASK to another executor; a running claim is superseded, its late result ignored."""

    control_cli.reassign(task, executor, option, reason)


def _verdict(task: str, ok: bool, files: list[Path] | None, note: str, failures: list[str]) -> None:

    attached = []
    for path in files or []:
        if not path.is_file():
            fail(f"no such file: {path}")
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        attached.append(Attachment(path.name, kind, path.read_bytes()))
    settings = config.load()
    with database() as conn:
        try:
            verdict, _ = verdicts.manual_verdict(conn, settings, task, ok, note, attached, tuple(failures))
        except verdicts.Refused as exc:
            fail(str(exc), exitcodes.REFUSED)
            return
        except RuntimeError as exc:
            fail(str(exc))
            return
    typer.echo(f"{task}: {'completed' if ok else 'failed'} (attempt {verdict.attempt}, "
               f"round {verdict.round})")
    for ref in verdict.artifacts:
        typer.echo(f"  {ref.name} {ref.uri} sha256:{ref.sha256}")


@task_app.command("complete")
def complete(task: str = typer.Argument(..., help="the task id"), artifact: list[Path] = ArtifactOpt,
             note: str = NoteOpt) -> None:
    """Mark a manual task, claimed and waiting, as done."""
    _verdict(task, True, artifact, note, [])


@task_app.command("fail")
def fail_(task: str = typer.Argument(..., help="the task id"), artifact: list[Path] = ArtifactOpt,
          note: str = NoteOpt,
          failure: list[str] = typer.Option(None, "--failure", help="QA: a failing requirement id "
                                            "(repeatable; all of the task's if none)")) -> None:
    """Mark a manual task, claimed and waiting, as failed."""
    _verdict(task, False, artifact, note, failure or [])


@artifacts_app.command("get")
def get(uri: str = typer.Argument(..., help="the artifact's URI (file://, s3://, memory://...)"),
        output: Path = typer.Option(None, "-o", "--output", help="write here (default: stdout)"),
        sha256: str = typer.Option(None, help="expected sha256 (default: as recorded)")) -> None:
    """Fetch an artifact and verify its sha256 (and size) against the record."""

    expected, size = sha256, None
    if expected is None:
        expected, size = _recorded(uri)
    try:
        data = artifacts.verify(artifacts.read(uri), expected, size, uri)
    except artifacts.DigestMismatch as exc:
        fail(f"digest mismatch: {exc}", exitcodes.INTEGRITY)
        return
    except (OSError, ValueError, RuntimeError) as exc:
        fail(f"cannot read {uri}: {exc}")
        return
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        output.write_bytes(data)
        typer.echo(json.dumps({"uri": uri, "sha256": expected, "size": len(data), "output": str(output)}),
                   err=True)


def _recorded(uri: str) -> tuple[str, int | None]:
    """The sha256 and size the projected events record for `uri` (a content address's own
    digest when the projection does not know it)."""
    import os

    import psycopg


    try:
        schema = os.environ.get("ORCH_PROJECTION_SCHEMA", views.LIVE_SCHEMA)
        with views.connect(reader_dsn(config.load()), schema, connect_timeout=5) as conn:
            row = conn.execute(
                "SELECT a->>'sha256', (a->>'size')::bigint FROM events, "
                "jsonb_array_elements(artifacts) a WHERE a->>'uri' = %s LIMIT 1", [uri]).fetchone()
    except (psycopg.Error, RuntimeError):
        row = None
    if row:
        return str(row[0]), int(row[1])
    parts = uri.rstrip("/").split("/")
    if len(parts) >= 3 and len(parts[-2]) == 64:  # <root>/<sha[:2]>/<sha>/<name>
        return parts[-2], None
    fail(f"no record of {uri}: pass --sha256")
    raise AssertionError("unreachable")
