"""The dashboard's pages (scope `read`, HTML): projects, a project's board (with its pending
approvals, org chart and alerts) and timeline, the causal tree of a submission, a task, the
approvals waiting, the org. Each reads through the same statements and tenant filter as the
JSON routes (`views`, or the route module's own function), so a tenant's page shows what its
API calls would; each form (scope `operate`) posts through the API route's own function.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import orjson
from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import RedirectResponse

from orchestrator.adapters.tokens import Principal
from orchestrator.core import control as controls
from orchestrator.core.events import EXECUTOR_KINDS
from services.projections import evidence, views
from services.projections.api import auth, control, cookies, live, org, pages, requests, tree
from services.projections.api.context import context

router = APIRouter(include_in_schema=False)
ALL = 500  # a page shows up to this many rows of a list (the JSON routes page further)
BUDGET = "budget"  # the alert kind a budget's warning or stop carries (`monitor.alert`)
TASK_STATUSES = ("assigned", "awaiting_approval", "started", "completed", "qa_failed", "deployed", "failed",
                 "verified", "cancelled")


async def _items(request: Request, table: str, filters: dict[str, Any], mine: list[str] | None,
                 project_id: str | None = None) -> list[dict[str, Any]]:
    """One page of a list as the JSON route reads it; 404 when `project_id` is not the caller's."""
    if project_id is None:
        query, params = views.page(table, filters, None, ALL, tenants=mine)
    else:
        query, params = views.page(table, filters, None, ALL, also=views.PROJECT_EXISTS, tenants=mine)
        params = [*params, project_id, mine]
    row = await context(request).one(query, params)
    assert row is not None  # scalar subqueries: always one row
    if project_id is not None and not row[0]:
        raise HTTPException(404, f"no project {project_id}")
    return list(orjson.loads(row[1]))


async def _progress(request: Request, ids: list[str], mine: list[str] | None) -> dict[str, Any]:
    row = await context(request).one(views.PROGRESS, [ids, mine])
    return dict(orjson.loads(row[0])) if row else {}


@router.get(pages.PREFIX + "/projects")
async def projects_page(request: Request, status: str | None = None, tenant: str | None = None,
                        caller: Principal = auth.READ) -> Response:
    mine, stream = auth.tenants(caller), await live.url(request, caller)
    items = await _items(request, "projects", {"status": status or None, "tenant": tenant or None}, mine)
    progress = await _progress(request, [p["project_id"] for p in items], mine)
    return pages.render(request, "projects.html", projects=items, progress=progress, status=status or "",
                        tenant=tenant or "", tenants=caller.tenants, live=stream)


async def _project(request: Request, project_id: str, mine: list[str] | None) -> dict[str, Any]:
    row = await context(request).one(views.PROJECT, [project_id, mine])
    if row is None:
        raise HTTPException(404, f"no project {project_id}")
    found: dict[str, Any] = orjson.loads(row[0])
    found.update((await _progress(request, [project_id], mine)).get(project_id, {}))
    return found


@router.get(pages.PREFIX + "/projects/{project_id}")
async def board_page(request: Request, project_id: str, caller: Principal = auth.READ) -> Response:
    mine = auth.tenants(caller)
    stream = await live.url(request, caller, project_id)  # scoped: another tenant's reads as none
    project = await _project(request, project_id, mine)
    tasks = await _items(request, "tasks", {"project_id": project_id}, mine, project_id)
    alerts = await _items(request, "alerts", {"project_id": project_id}, mine)
    grid: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for task in tasks:
        grid[task["area"]][task["status"]].append(task)
    areas = sorted({m["area"] for m in project["module_list"]} | set(grid))
    counts = {s: sum(len(grid[a][s]) for a in areas) for s in TASK_STATUSES}
    operator = "operate" in caller.scopes
    pending = await _items(request, "approvals", {"project_id": project_id, "status": "pending"}, mine)
    return pages.render(request, "board.html", project=project, grid=grid, areas=areas,
                        statuses=TASK_STATUSES, counts=counts, tasks=tasks, alerts=alerts,
                        budget_alerts=[a for a in alerts if a["kind"] == BUDGET],
                        approvals=pending, answers=_answers(pending, {project_id: project["status"]},
                                                            operator),
                        roles=await org.project_roles(request, project_id, caller),
                        here=f"{pages.PREFIX}/projects/{project_id}",
                        modules={m["area"]: m for m in project["module_list"]},
                        actions=controls.project_actions(project_id, project["status"]) if operator else [],
                        module_actions={m["area"]: controls.module_actions(
                            {**m, "project_id": project_id, "project_status": project["status"]})
                            for m in project["module_list"]} if operator else {},
                        live=stream)


def _answers(approvals: list[dict[str, Any]], statuses: dict[str, str],
             operator: bool) -> dict[str, list[str]]:
    """Per approval, the answers `control.answer` would take as things stand (the buttons);
    none for a reader."""
    if not operator:
        return {}
    return {a["approval_id"]: [act for act in controls.ANSWERS if controls.answer_refusal(
        act, {**a, "project_status": statuses.get(a["project_id"], "")}) is None] for a in approvals}


@router.get(pages.PREFIX + "/approvals")
async def approvals_page(request: Request, caller: Principal = auth.READ) -> Response:
    """The approvals waiting for a person across the caller's tenants, oldest first."""
    mine, stream = auth.tenants(caller), await live.url(request, caller)
    pending = await _items(request, "approvals", {"status": "pending"}, mine)
    projects = {p["project_id"]: p for p in await _items(request, "projects", {}, mine)}
    statuses = {pid: p["status"] for pid, p in projects.items()}
    return pages.render(request, "approvals.html", approvals=pending, projects=projects,
                        answers=_answers(pending, statuses, "operate" in caller.scopes),
                        here=pages.PREFIX + "/approvals", live=stream)


@router.get(pages.PREFIX + "/org")
async def org_page(request: Request, area: str | None = None, caller: Principal = auth.READ) -> Response:
    """The org chart across the caller's tenants: per role and area, who serves; per instance, its work."""
    stream = await live.url(request, caller)
    found = await org.summary(request, area or None, caller)
    return pages.render(request, "org.html", roles=found.get("roles", []),
                        instances=found.get("instances", []), area=area or "", live=stream)


@router.get(pages.PREFIX + "/projects/{project_id}/timeline")
async def timeline_page(request: Request, project_id: str, caller: Principal = auth.READ) -> Response:
    mine, stream = auth.tenants(caller), await live.url(request, caller, project_id)
    project = await _project(request, project_id, mine)
    events = await _items(request, "events", {"project_id": project_id}, mine, project_id)
    return pages.render(request, "timeline.html", project=project, events=events, live=stream)


@router.get(pages.PREFIX + "/requests/{request_id}")
async def tree_page(request: Request, request_id: str, caller: Principal = auth.READ) -> Response:
    events, roots, count, depth = await requests.submission_tree(request, request_id, caller)
    return pages.render(request, "tree.html", request_id=request_id, count=count, depth=depth,
                        project_id=events[0]["project_id"],
                        tree=tree.html(roots, {e["event_id"]: e for e in events}, pages.PREFIX),
                        live=await live.url(request, caller, events[0]["project_id"]))  # after: rows name it


@router.get(pages.PREFIX + "/tasks/{task_id:path}")
async def task_page(request: Request, task_id: str, caller: Principal = auth.READ) -> Response:
    row = await context(request).one(views.TASK, [task_id, auth.tenants(caller)])
    if row is None:
        raise HTTPException(404, f"no task {task_id}")
    task = orjson.loads(row[0])
    events = task.pop("events")
    found = evidence.by_task(events, [task])[0]
    deployed = ("devops.deployed", "devops.failed", "smoke.passed", "smoke.failed")
    handoff = await control.handoff_row(context(request), task_id, caller) \
        if "operate" in caller.scopes else None
    return pages.render(request, "task.html", task=task, attempts=found["attempts"], events=events,
                        kinds=[k for k in EXECUTOR_KINDS if controls.handoff_refusal(handoff, k) is None]
                        if handoff else [],
                        qa=[e for e in events if e["type"] in ("qa.passed", "qa.failed")],
                        deployments=[e for e in events if e["type"] in deployed],
                        heartbeats=[e for e in events if e["type"] == "task.heartbeat"],
                        live=await live.url(request, caller, task["project_id"]))  # after: rows name it


@router.post(pages.PREFIX + "/projects/{project_id}/{action}")
async def control_form(request: Request, project_id: str, action: str,
                       caller: Principal = auth.FORM_OPERATE) -> Response:
    """Pause, resume or cancel from the board (scope `operate`); back to the board, which
    shows the new status once projected."""
    await control.apply(context(request), project_id, action, "from the dashboard", caller)
    return RedirectResponse(f"{pages.PREFIX}/projects/{project_id}", 303)


@router.post(pages.PREFIX + "/projects/{project_id}/modules/{module}/{action}")
async def module_control_form(request: Request, project_id: str, module: str, action: str,
                              caller: Principal = auth.FORM_OPERATE) -> Response:
    """One module's pause, resume or cancel from its board row (scope `operate`), through the
    API route's own function, so a refused one is the same 409 (shown as the error page)."""
    await control.apply_module(context(request), project_id, module, action, "from the dashboard", caller)
    return RedirectResponse(f"{pages.PREFIX}/projects/{project_id}", 303)


def _back(fields: dict[str, str], default: str) -> str:
    """Where a form returns: the page it came from (its `next` field), only ever a dashboard page."""
    target = fields.get("next", "")
    return target if target.startswith(pages.PREFIX + "/") else default


@router.post(pages.PREFIX + "/approvals/{approval_id}/{action}")
async def answer_form(request: Request, approval_id: str, action: str,
                      caller: Principal = auth.FORM_OPERATE) -> Response:
    """Grant or reject an approval from the board or the approvals page (scope `operate`),
    through the API route's own function: a refused one (answered already, project ended) is
    its 409, shown as the error page."""
    fields = await cookies.form_fields(request)
    done = await control.answer_approval(context(request), approval_id, action,
                                         fields.get("reason", "").strip(), caller)
    return RedirectResponse(_back(fields, f"{pages.PREFIX}/projects/{done['project_id']}"), 303)


@router.post(pages.PREFIX + "/tasks/{task_id:path}/reassign")
async def handoff_form(request: Request, task_id: str, caller: Principal = auth.FORM_OPERATE) -> Response:
    """Hand a live task to another executor kind from its page (scope `operate`), through the
    API route's own function (a refused one is its 409); back to the task page."""
    fields = await cookies.form_fields(request)
    await control.hand_off(context(request), task_id, fields.get("kind", ""), {},
                           fields.get("reason", "").strip(), caller)
    return RedirectResponse(f"{pages.PREFIX}/tasks/{task_id}", 303)
