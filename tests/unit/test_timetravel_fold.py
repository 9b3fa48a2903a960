"""Time travel: the projection's own fold, cut at a time or a log position, known answers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orchestrator.core.envelope import Actor, Event
from orchestrator.core.events import (
    Executor,
    Module,
    ModulePlanned,
    Policy,
    ProjectCompleted,
    ProjectCreated,
    Requirement,
    Role,
    TaskAssigned,
    TaskStarted,
    TaskVerified,
)
from services.projections import chain, timetravel

T0 = 1_700_000_000_000
DEV = "p/backend/dev/FR-1"


def rows() -> list[dict]:
    req = Requirement("FR-1", "Login")
    steps = [ProjectCreated("p", "", (Module("backend", (req,)),), Policy()),
             ModulePlanned("backend", "pm", (req,), Policy()),
             TaskAssigned(DEV, "backend", Role.DEV, 1, ("FR-1",), "Login", 9, 1, Executor(Role.DEV)),
             TaskStarted(DEV, "backend", Role.DEV, 1, 0, 1),
             TaskVerified(DEV, "backend", Role.DEV, ("FR-1",)),
             ProjectCompleted(("backend",))]
    return [{**chain.of_event(Event(f"e{i}", "p", "r", None, T0 + 1000 * i, Actor(Role.PM, "backend", "w"),
                                    payload)),  # type: ignore[arg-type]
             "partition": 0, "offset": 10 + i} for i, payload in enumerate(steps)]


def test_at_a_log_position_the_task_is_started_and_the_project_still_created() -> None:
    state = timetravel.fold(rows(), timetravel.parse("0:13"))
    project = timetravel.project(state, "p")
    assert project is not None and project["status"] == "created"
    assert project["module_list"][0]["tasks_verified"] == 0
    [task] = timetravel.tasks(state, "p")
    assert (task["status"], task["assignee"]) == ("started", "w")
    assert task["updated_at"] == "2023-11-14T22:13:23+00:00"


def test_at_a_time_and_at_the_end() -> None:
    before = timetravel.fold(rows(), timetravel.parse("2023-11-14T22:13:20.999+00:00"))
    assert timetravel.project(before, "p")["status"] == "created"  # type: ignore[index]
    assert timetravel.tasks(before, "p") == []
    end = timetravel.project(timetravel.fold(rows(), timetravel.parse("15")), "p")
    assert end is not None and end["status"] == "completed" and end["module_list"][0]["tasks_verified"] == 1
    assert timetravel.project(timetravel.fold(rows(), timetravel.parse("9")), "p") is None


def test_bad_as_of_values_say_what_is_wanted() -> None:
    for bad in ("yesterday", "2023-11-14T22:13:20"):
        with pytest.raises(ValueError, match="as_of"):
            timetravel.parse(bad)


def test_times_are_written_as_postgresql_writes_them() -> None:
    assert timetravel.stamp(datetime(2023, 1, 1, 0, 0, 0, 27000, UTC)) == "2023-01-01T00:00:00.027+00:00"
    assert timetravel.stamp(datetime(2023, 1, 1, tzinfo=UTC)) == "2023-01-01T00:00:00+00:00"
