"""`orchestrator status|tasks`: projects, their modules and their tasks as the read model has
them now, or (`status --as-of`) a project as it was then, folded again from its events."""

from __future__ import annotations

import typer

from orchestrator.entrypoints.read_cli import JsonOpt, _table, database, emit, fail
from services.projections import timetravel, views

projects_app = typer.Typer()


@projects_app.command()
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


@projects_app.command()
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
