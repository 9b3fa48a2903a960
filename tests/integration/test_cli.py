"""The read commands against a real projection: tables, --json, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator.adapters.config import Settings
from orchestrator.entrypoints.cli import app
from services.projections import projector
from tests.integration.test_projector import publish, rejected, scenario, schema  # noqa: F401

pytestmark = pytest.mark.integration


@pytest.fixture
def cli(settings: Settings, schema: str, tmp_path: Path):  # type: ignore[no-untyped-def]  # noqa: F811
    events = [*scenario("shop-cli", request_id="req-cli"), rejected("req-bad")]
    publish(settings, events)
    projector.run_until_caught_up(settings, schema)
    env = {"ORCH_KAFKA_BOOTSTRAP": settings.bootstrap, "ORCH_DATABASE_URL": settings.dsn,
           "ORCH_READER_DATABASE_URL": settings.dsn, "ORCH_PROJECTION_SCHEMA": schema,
           "ORCH_TOPIC_PREFIX": settings.topic_prefix, "ORCH_RUN_DIR": str(tmp_path)}

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(app, list(args), env=env)

    invoke.env = env  # type: ignore[attr-defined]
    return invoke


def test_status_lists_projects_and_shows_one_with_its_modules(cli) -> None:  # type: ignore[no-untyped-def]
    listed = json.loads(cli("status", "--json").output)
    assert [p["project_id"] for p in listed] == ["shop-cli"]
    one = json.loads(cli("status", "shop-cli", "--json").output)
    assert one["status"] == "completed"
    assert [(m["area"], m["status"]) for m in one["modules"]] == [("backend", "completed")]
    assert "backend" in cli("status", "shop-cli").output


def test_tasks_filter_by_role_and_status(cli) -> None:  # type: ignore[no-untyped-def]
    rows = json.loads(cli("tasks", "shop-cli", "--role", "dev", "--json").output)
    assert [(r["task_id"], r["status"], r["round"]) for r in rows] == [
        ("shop-cli/backend/dev/FR-1", "verified", 1)]
    assert json.loads(cli("tasks", "shop-cli", "--status", "cancelled", "--json").output) == []


def test_events_of_a_request_carry_causation_and_artifacts(cli) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(cli("events", "--request", "req-cli", "--json").output)
    events = data["events"]
    assert events[0]["type"] == "project.created" and events[-1]["type"] == "project.completed"
    ids = {e["event_id"] for e in events}
    assert all(e["causation_id"] in ids for e in events[1:])
    assert "spec.yaml sha256:abababababab" in events[0]["artifacts"]
    assert {t["task_id"] for t in data["tasks"]} >= {"shop-cli/backend/devops"}
    assert len(json.loads(cli("events", "shop-cli", "--json").output)) == len(events)


def test_watch_ends_when_the_project_has_ended(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("watch", "shop-cli", "--timeout", "10")
    assert result.exit_code == 0
    assert "verified" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("status", "nope"), "no project 'nope'"),
        (("tasks", "nope"), "no project 'nope'"),
        (("events", "--request", "nope"), "no events for request 'nope'"),
        (("events",), "give a PROJECT or --request ID"),
        (("watch", "nope", "--timeout", "2"), "no project 'nope'"),
        (("submit", "missing.yaml"), "no such file: missing.yaml"),
    ],
)
def test_errors_are_one_clear_line_and_a_non_zero_exit(cli, args, message) -> None:  # type: ignore[no-untyped-def]
    result = cli(*args)
    assert result.exit_code != 0
    assert f"error: {message}" in result.output
    assert "Traceback" not in result.output


def test_a_control_of_an_ended_or_unknown_project_is_refused_with_its_status(cli) -> None:  # type: ignore[no-untyped-def]
    ended = cli("project", "cancel", "shop-cli")
    assert ended.exit_code == 1
    assert "cannot cancel project shop-cli: it is completed" in ended.output
    unknown = cli("project", "pause", "nope")
    assert unknown.exit_code == 1 and "no project nope" in unknown.output


def test_watch_exits_with_the_blocked_code_when_the_project_is_blocked(  # type: ignore[no-untyped-def]
        cli, settings: Settings, schema: str) -> None:  # noqa: F811
    from dataclasses import replace

    from orchestrator.core import exitcodes
    from orchestrator.core.envelope import Actor
    from orchestrator.core.events import ProjectBlocked, Role

    started = scenario("shop-stuck", request_id="req-stuck")[:5]
    last = started[-1]
    blocked = replace(last, event_id=f"{last.event_id}-blocked", causation_id=last.event_id,
                      occurred_at=last.occurred_at + 1, actor=Actor(Role.CTO, None, "cto-0"),
                      payload=ProjectBlocked(("backend",), "dev failed three times"), artifacts=())
    publish(settings, [*started, blocked])
    projector.run_until_caught_up(settings, schema)
    result = cli("watch", "shop-stuck", "--timeout", "10")
    assert result.exit_code == exitcodes.BLOCKED, result.output
    assert "shop-stuck: blocked" in result.output
    assert cli("watch", "shop-cli", "--timeout", "10").exit_code == exitcodes.OK


def test_tasks_show_whole_task_ids_however_narrow_the_terminal(cli) -> None:  # type: ignore[no-untyped-def]
    narrow = CliRunner().invoke(app, ["tasks", "shop-cli"], env={**_env_of(cli), "COLUMNS": "40"})
    assert narrow.exit_code == 0
    first = "".join(line.split("│")[1].strip() for line in narrow.output.splitlines() if "│" in line)
    assert "shop-cli/backend/dev/FR-1" in first and "…" not in first  # folded, never cut
    wide = CliRunner().invoke(app, ["tasks", "shop-cli", "--wide"], env={**_env_of(cli), "COLUMNS": "40"})
    assert any("shop-cli/backend/dev/FR-1" in line for line in wide.output.splitlines())


def _env_of(cli) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return cli.env  # type: ignore[no-any-return]


def test_an_approval_is_listed_granted_from_the_shell_and_then_shown_granted(  # type: ignore[no-untyped-def]
        cli, settings: Settings, schema: str) -> None:  # noqa: F811
    from orchestrator.core.envelope import Actor, follow
    from orchestrator.core.events import ApprovalRequested, Role

    live = scenario("shop-gate", request_id="req-gate")[:7]  # created, planned, tasks assigned
    ops = "shop-gate/backend/devops"
    asked = follow(live[-1], ApprovalRequested("ap-cli", ops, "backend", Role.DEVOPS, "deployment_total",
                                               1, 0, 60_000), Actor(Role.DEVOPS, "backend", "d1"))
    publish(settings, [*live, asked])
    projector.run_until_caught_up(settings, schema)
    listed = cli("approval", "list", "--project", "shop-gate", "--json")
    assert listed.exit_code == 0, listed.output
    assert [(a["approval_id"], a["gate"], a["status"]) for a in json.loads(listed.output)] == [
        ("ap-cli", "deployment_total", "pending")]
    granted = cli("approval", "grant", "ap-cli", "--reason", "go")
    assert granted.exit_code == 0 and "approval.granted" in granted.output, granted.output
    projector.run_until_caught_up(settings, schema)
    shown = json.loads(cli("approval", "list", "--project", "shop-gate", "--status", "", "--json").output)
    assert [(a["status"], a["reason"], a["decided_by"]) for a in shown] == [("granted", "go", "cli")]
    again = cli("approval", "reject", "ap-cli")
    assert again.exit_code == 1 and "cannot reject approval ap-cli: it is granted" in again.output
    assert "no approval nope" in cli("approval", "grant", "nope").output


def test_a_hand_off_of_an_ended_task_or_to_an_unknown_executor_is_refused(cli) -> None:  # type: ignore[no-untyped-def]
    task = "shop-cli/backend/dev/FR-1"
    ended = cli("task", "reassign", task, "--executor", "manual")
    assert ended.exit_code == 1 and f"cannot reassign task {task}: it is verified" in ended.output
    robot = cli("task", "reassign", task, "--executor", "robot")
    assert robot.exit_code == 1 and "unknown executor kind 'robot'" in robot.output
    assert "no task nope" in cli("task", "reassign", "nope", "--executor", "manual").output


def test_a_module_is_paused_by_its_area_and_a_repeat_or_an_unknown_module_is_refused(  # type: ignore[no-untyped-def]
        cli, settings: Settings, schema: str) -> None:  # noqa: F811
    publish(settings, scenario("shop-mod", request_id="req-mod")[:4])  # planned, nothing ran yet
    projector.run_until_caught_up(settings, schema)
    paused = cli("project", "pause", "shop-mod", "--module", "backend", "--reason", "review")
    assert paused.exit_code == 0, paused.output
    assert "shop-mod: module.paused" in paused.output
    projector.run_until_caught_up(settings, schema)
    shown = json.loads(cli("status", "shop-mod", "--json").output)
    assert [(m["area"], m["status"]) for m in shown["modules"]] == [("backend", "paused")]
    again = cli("project", "pause", "shop-mod", "--module", "backend")
    assert again.exit_code == 1 and "cannot pause module backend of shop-mod: it is paused" in again.output
    unknown = cli("project", "cancel", "shop-mod", "--module", "mobile")
    assert unknown.exit_code == 1 and "no module mobile in project shop-mod" in unknown.output
    ended = cli("project", "pause", "shop-cli", "--module", "backend")
    assert ended.exit_code == 1 and "the project is completed" in ended.output
