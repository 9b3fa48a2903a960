"""Read commands: what the projections know about projects, tasks and events."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import typer
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from orchestrator.adapters import config
from orchestrator.core import exitcodes
from orchestrator.core.position import Token
from services.projections import causal, delivery, evidence, seal, timetravel, traceability, views, waiting
from services.projections.main import reader_dsn

read_app = typer.Typer()
JsonOpt = typer.Option(False, "--json", help="machine-readable output")
TERMINAL = {"completed", "blocked", "rejected", "cancelled"}


def fail(message: str, code: int = exitcodes.FAILED) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def database() -> Iterator[psycopg.Connection[Any]]:

    settings = config.load()
    try:
        dsn = reader_dsn(settings)
        conn = views.connect(dsn, os.environ.get("ORCH_PROJECTION_SCHEMA", views.LIVE_SCHEMA))
    except (RuntimeError, psycopg.Error) as exc:
        fail(f"cannot read the projections: {str(exc).splitlines()[0]}")
        raise  # unreachable: fail() exits
    with conn:
        yield conn


def wait_for_outcome(token: Token, timeout: float, progress: bool = False) -> tuple[str, str, list[str]]:
    """`submit --wait`: read the outcome from the projection once it shows the submission;
    with `progress`, the live view `watch` shows while the project is under way."""

    schema = os.environ.get("ORCH_PROJECTION_SCHEMA", views.LIVE_SCHEMA)
    try:
        with views.connect(reader_dsn(config.load()), schema, autocommit=True, connect_timeout=5) as conn:
            if not progress:
                return waiting.wait_for_outcome(conn, schema, token, timeout)
            with Live(refresh_per_second=4) as live:

                def seen(project_id: str) -> None:
                    found = views.get_project(conn, project_id)
                    if found is not None:
                        live.update(_view(found, views.list_events(conn, project_id, 100_000, None)[-8:]))

                return waiting.wait_for_outcome(conn, schema, token, timeout, seen)
    except psycopg.Error as exc:
        fail(f"cannot read the projections: {str(exc).splitlines()[0]}")
        raise  # unreachable: fail() exits


def emit(data: Any, as_json: bool, table: Table | None = None, wide: bool = False) -> None:
    if as_json or table is None:
        typer.echo(json.dumps(data, indent=2, default=str))
    else:  # wide: as wide as the rows need, whatever the terminal's width
        Console(width=WIDE if wide else None).print(table)


WIDE = 1_000
IDS = {"task_id", "project_id", "event_id", "request_id"}  # wrapped when narrow, never cut short


def _table(title: str, rows: list[dict[str, Any]], columns: list[str]) -> Table:
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold" if column in IDS else "ellipsis")
    for row in rows:
        table.add_row(*[_cell(row.get(c)) for c in columns])
    return table


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return "" if value is None else str(value)


@read_app.command()
def status(project: str = typer.Argument(None, help="a project id; all projects if omitted"),
           as_json: bool = JsonOpt,
           as_of: str | None = typer.Option(None, help="an ISO time or log position: the project then"),
           ) -> None:
    """Projects and their modules (`--as-of`: as they were then, folded from the events)."""

    with database() as conn:
        if project is None:
            rows = views.list_projects(conn, 1000, None)
            emit(rows, as_json, _table("projects", rows, ["project_id", "name", "status", "modules"]))
            return
        if as_of is None:
            found = views.get_project(conn, project)
        else:
            try:
                cutoff = timetravel.parse(as_of)
            except ValueError as exc:
                fail(str(exc))
                return
            found = timetravel.project(timetravel.fold(views.project_events(conn, project), cutoff), project)
    if found is None:
        fail(f"no project {project!r}")
        return
    modules = found.pop("module_list")
    emit({**found, "modules": modules}, as_json,
         _table(f"{project}: {found['status']}", modules,
                ["area", "status", "tasks_verified", "tasks_total"]))


@read_app.command()
def tasks(project: str, status: str = typer.Option(None), role: str = typer.Option(None),
          area: str = typer.Option(None), as_json: bool = JsonOpt,
          wide: bool = typer.Option(False, "--wide", help="one line per task, however wide")) -> None:
    """The tasks of one project, filtered by status, role or area (task ids in full)."""

    with database() as conn:
        if views.get_project(conn, project) is None:
            fail(f"no project {project!r}")
        rows = views.list_tasks(conn, project, {"status": status, "role": role, "area": area},
                                10_000, None)
    emit(rows, as_json, _table(f"tasks of {project}", rows,
                               ["task_id", "role", "status", "attempt", "round", "assignee"]), wide)


@read_app.command()
def events(project: str = typer.Argument(None), request: str = typer.Option(None, help="a request id"),
           as_json: bool = JsonOpt) -> None:
    """The timeline of a project, or everything one submission caused (--request): then also
    every task with its attempts and the artifacts of each, with their digests."""

    if (project is None) == (request is None):
        fail("give a PROJECT or --request ID")
    with database() as conn:
        if request is not None:
            rows, found, _ = views.request(conn, request)
            if not rows:
                fail(f"no events for request {request!r}")
            data: Any = {"request_id": request, "events": rows, "tasks": evidence.by_task(rows, found)}
        else:
            rows = views.list_events(conn, project, 100_000, None)
            if not rows:
                fail(f"no events for project {project!r}")
            data = rows
    for row in rows:
        row["artifacts"] = ", ".join(f"{a['name']} sha256:{a['sha256'][:12]}" for a in row["artifacts"])
    emit(data, as_json, _table(f"events of {request or project}", rows,
                               ["occurred_at", "type", "actor_role", "actor_area", "artifacts"]))
    if request is not None and not as_json:
        Console().print(_evidence_table(request, data["tasks"]))


def _evidence_table(request: str, tasks: list[dict[str, Any]]) -> Table:
    table = Table(title=f"evidence of {request}")
    for column in ("task", "attempt", "rounds", "events", "artifacts (sha256, size)"):
        table.add_column(column)
    for task in tasks:
        for attempt in task["attempts"]:
            kinds = [e["type"] for e in attempt["events"]]
            refs = "\n".join(f"{a['name']} r{a['round']} {a['sha256']} {a['size']}B {a['uri']}"
                             for a in attempt["artifacts"])
            table.add_row(task["task_id"], str(attempt["attempt"]), _cell(attempt["rounds"]),
                          _cell(kinds), refs)
    return table


@read_app.command()
def watch(project: str, timeout: float = typer.Option(600.0, help="seconds before giving up"),
          interval: float = typer.Option(0.5)) -> None:
    """A live view: a progress bar per module and the latest events, until the project ends.
    Exit code: 0 completed, 5 blocked, 6 cancelled, 7 timeout."""

    deadline = time.monotonic() + timeout
    last = "unknown"
    with database() as conn, Live(refresh_per_second=4) as live:
        while time.monotonic() < deadline:
            found = views.get_project(conn, project)
            if found is None:
                fail(f"no project {project!r}")
                return
            recent = views.list_events(conn, project, 100_000, None)[-8:]
            live.update(_view(found, recent))
            conn.commit()
            last = found["status"]
            if found["status"] in TERMINAL:
                break
            time.sleep(interval)
        else:
            fail(f"{project} still {last} after {timeout:.0f}s", exitcodes.TIMEOUT)
    if last != "completed":
        typer.echo(f"{project}: {last}", err=True)
    raise typer.Exit(exitcodes.BY_STATUS.get(last, exitcodes.FAILED))


def _view(project: dict[str, Any], recent: list[dict[str, Any]]) -> Group:
    bars = Progress(TextColumn("{task.description:<8}"), BarColumn(),
                    TextColumn("{task.completed}/{task.total} verified"))
    for module in project["module_list"]:
        bars.add_task(module["area"], total=max(module["tasks_total"], 1),
                      completed=module["tasks_verified"])
    latest = _table(f"{project['project_id']}: {project['status']}", recent,
                    ["occurred_at", "type", "actor_role"])
    return Group(bars, latest)


@read_app.command("verify")
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


@read_app.command("trace")
def trace(request_id: str | None = typer.Argument(None, help="a submission: show its causal tree"),
          project: str | None = typer.Option(None, "--project", help="a project: trace its requirements"),
          as_json: bool = JsonOpt,
          export: str | None = typer.Option(None, help="write traceability.json, .csv and manifest.json here")
          ) -> None:
    """The causal tree of a submission, or (`--project`) the traceability of each FR/NFR:
    every attempt, QA verdict, rework and deployment."""
    if request_id is not None:
        return _causal_tree(request_id, as_json)
    if project is None:
        fail("give a REQUEST_ID or --project")
        return
    from pathlib import Path


    with database() as conn:
        rows = views.project_events(conn, project)
    if not rows:
        fail(f"no project {project}")
    reqs = traceability.trace(rows)
    body = json.dumps({"project_id": project, "requirements": reqs}, indent=2).encode()
    if export:
        files = {"traceability.json": body, "traceability.csv": traceability.to_csv(reqs).encode()}
        out = Path(export)
        out.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (out / name).write_bytes(data)
        (out / "manifest.json").write_text(json.dumps(traceability.manifest(reqs, files), indent=2))
    if as_json:
        typer.echo(body.decode())
        return
    table = Table(title=f"traceability of {project}")
    for column in ("requirement", "title", "status", "dev attempts", "QA pass/fail", "reworks",
                   "deploys", "smoke failed", "verified at"):
        table.add_column(column)
    for req in reqs:
        s = traceability.summary(req)
        table.add_row(req["requirement"], req["title"], req["status"], str(s["dev_attempts"]),
                      f"{s['qa_passed']}/{s['qa_failed']}", str(s["reworks"]), str(s["deploys"]),
                      str(s["smoke_failed"]), str(req["verified_at"] or "-"))
    Console().print(table)


def _causal_tree(request_id: str, as_json: bool) -> None:
    from rich.tree import Tree


    with database() as conn:
        events, _, _ = views.request(conn, request_id)
    if not events:
        fail(f"no request {request_id}")
    roots = causal.tree(events)
    if as_json:
        typer.echo(b'{"request_id":' + json.dumps(request_id).encode() + b',"roots":'
                   + causal.dumps(roots) + b"}")
        return
    shown = Tree(f"causal tree of {request_id}")
    todo: list[tuple[Tree, dict[str, Any]]] = [(shown, r) for r in reversed(roots)]
    while todo:  # no recursion: a long chain of causes is deep
        parent, node = todo.pop()
        label = f"[bold]{node['type']}[/] {node['occurred_at']} {node['actor']}"
        branch = parent.add(label + (f" {node['task_id']}" if node["task_id"] else ""))
        todo.extend((branch, c) for c in reversed(node["children"]))
    Console().print(shown)


@read_app.command("report")
def report(project: str | None = typer.Option(None, help="one project; all if omitted"),
           as_json: bool = JsonOpt) -> None:
    """The delivery report: lead time, deploy frequency, change-failure rate and time to
    restore, per project and area, computed from the log."""

    with database() as conn:
        rows = views.delivery_events(conn, list(delivery.TYPES), project)
    if project is not None and not rows:
        fail(f"no delivery events of project {project}")
    found = delivery.metrics(rows)
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    table = Table(title="delivery report")
    columns = ("deployed_requirements", "lead_time_median_s", "deploys", "deploys_per_day",
               "change_failure_rate", "time_to_restore_median_s")
    for column in ("scope", *columns):
        table.add_column(column)
    for scope in ("projects", "areas"):
        for key, keys in found[scope].items():
            table.add_row(key, *("-" if keys[c] is None else str(keys[c]) for c in columns))
    Console().print(table)
