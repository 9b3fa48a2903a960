"""`orchestrator org`: who serves what, from the org chart's read model."""

from __future__ import annotations

import typer

from orchestrator.entrypoints.read_cli import JsonOpt, _table, database, emit, fail
from services.projections import views

org_app = typer.Typer()


@org_app.command()
def org(project: str = typer.Argument(None, help="a project id: its roles; the whole org if omitted"),
        area: str = typer.Option(None, help="only this area"), as_json: bool = JsonOpt) -> None:
    """The roles the CTO hired per area and the service instances that served them."""

    with database() as conn:
        if project is None:
            found = views.org(conn, area)
            emit(found, as_json, _table("instances", found["instances"],
                                        ["area", "role", "instance", "projects", "events", "last_seen"]))
            return
        if views.get_project(conn, project) is None:
            fail(f"no project {project!r}")
        roles = [r for r in views.project_org(conn, project) if area is None or r["area"] == area]
    for role in roles:
        role["served_by"] = [i["instance"] for i in role["instances"]]
    emit({"project_id": project, "roles": roles}, as_json,
         _table(f"org of {project}", roles, ["name", "status", "hired_at", "released_at", "served_by"]))
