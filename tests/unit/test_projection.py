"""The pure projection fold: what each event does to the rows of the read models."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from orchestrator.core.envelope import Actor, Event
from orchestrator.core.events import (
    AlertKind,
    BacklogCreated,
    BacklogTask,
    Executor,
    ModulePlanned,
    MonitorAlert,
    Policy,
    ProjectCompleted,
    QaFailed,
    Role,
    Severity,
    SpecError,
    SpecRejected,
    TaskAssigned,
    TaskHeartbeat,
    TaskStarted,
    TaskVerified,
)
from services.projections.projection import fold
from services.projections.rowset import Position, Rows, touched
from services.projections.writes import EVENT_COLUMNS, event_row


def ev(payload: object, role: Role = Role.MONITOR, instance: str = "m0", pid: str = "p", n: int = 0) -> Event:
    return Event(f"e{n}", pid, "r1", None, 1_700_000_000_000 + n, Actor(role, "backend", instance),
                 payload)  # type: ignore[arg-type]


def assigned(task: str, attempt: int = 1, n: int = 0) -> Event:
    return ev(TaskAssigned(task, "backend", Role.DEV, attempt, ("FR-1",), "t", 10, 5, Executor(Role.DEV)),
              Role.PM, n=n)


def module_rows() -> Rows:
    rows = Rows()
    fold(rows, ev(ModulePlanned("backend", "pm", (), Policy())))
    fold(rows, ev(BacklogCreated("backend", (BacklogTask("a", Role.DEV, (), ""),
                                             BacklogTask("b", Role.DEV, (), "")))))
    return rows


def test_a_started_task_records_its_attempt_round_and_assignee() -> None:
    rows = Rows(tasks={"t": {"task_id": "t", "status": "assigned", "attempt": 1, "round": 0,
                             "assignee": None, "verified": False, "project_id": "p", "area": "backend"}})
    fold(rows, ev(TaskStarted("t", "backend", Role.DEV, 2, 1, 100), Role.DEV, "w7"))
    task = rows.tasks["t"]
    assert (task["status"], task["attempt"], task["round"], task["assignee"]) == ("started", 2, 1, "w7")
    assert rows.changed["tasks"] == {"t"}


def test_a_status_event_of_an_unknown_task_changes_nothing() -> None:
    rows = Rows()
    fold(rows, ev(TaskStarted("ghost", "backend", Role.DEV, 1, 0, 100), Role.DEV))
    assert rows.tasks == {} and rows.changed["tasks"] == set()


def test_a_failed_qa_completes_the_qa_task_and_marks_the_dev_task() -> None:
    rows = Rows()
    fold(rows, assigned("qa"))
    fold(rows, assigned("dev"))
    fold(rows, ev(QaFailed("qa", "backend", "dev", 1, 0, ("x",))))
    assert (rows.tasks["qa"]["status"], rows.tasks["dev"]["status"]) == ("completed", "qa_failed")


def test_verification_recounts_the_module_and_a_new_attempt_unverifies() -> None:
    rows = module_rows()
    fold(rows, assigned("a"))
    fold(rows, ev(TaskVerified("a", "backend", Role.DEV, ("FR-1",))))
    module = rows.modules[("p", "backend")]
    assert (module["tasks_total"], module["tasks_verified"]) == (2, 1)  # the backlog counts two
    fold(rows, assigned("a", attempt=2))
    assert rows.modules[("p", "backend")]["tasks_verified"] == 0
    assert rows.tasks["a"]["attempt"] == 2 and not rows.tasks["a"]["verified"]


def test_counts_start_from_what_the_database_holds() -> None:
    rows = module_rows()
    rows.counts[("p", "backend")] = [5, 4]  # five tasks stored, four verified
    fold(rows, assigned("new"))
    assert (rows.modules[("p", "backend")]["tasks_total"], rows.modules[("p", "backend")]["tasks_verified"]) \
        == (6, 4)


def test_a_rejection_without_a_project_only_records_errors() -> None:
    rows = Rows()
    fold(rows, ev(SpecRejected((SpecError("a", "b"),)), pid=""))
    assert rows.rejections["r1"]["errors"] == [{"path": "a", "message": "b"}]
    assert rows.changed["projects"] == set()


def test_alerts_and_completion() -> None:
    rows = Rows(projects={"p": {"project_id": "p", "status": "created"}})
    fold(rows, ev(MonitorAlert("t", "backend", AlertKind.DEADLINE_MISSED, Severity.CRITICAL, 1, 0, "m")))
    fold(rows, ev(ProjectCompleted(("backend",)), n=1))
    [alert] = rows.alerts.values()
    assert (alert["kind"], alert["severity"]) == ("deadline_missed", "critical")
    assert rows.projects["p"]["status"] == "completed"


def test_heartbeats_change_no_read_model_but_the_instances_last_seen_and_are_logged() -> None:
    event = ev(TaskHeartbeat("t", "backend", Role.DEV, 1, 0, 3), Role.DEV)
    rows = Rows()
    fold(rows, event)
    [seen] = rows.instances.values()
    assert (seen["role"], seen["area"], seen["events"]) == ("dev", "backend", 1)
    rows.instances.clear()
    assert rows == Rows()
    row = dict(zip([c.strip().strip('"') for c in EVENT_COLUMNS.split(",")],
                   event_row(event, Position("topic", 2, 9)), strict=True))
    assert row["type"] == "task.heartbeat" and json.loads(row["payload"])["seq"] == 3 and row["offset"] == 9


def test_touched_names_every_project_and_task_the_fold_reads() -> None:
    keys = touched([assigned("a"), ev(QaFailed("qa", "backend", "dev", 1, 0, ())),
                    ev(SpecRejected(()), pid="")])
    assert keys.projects == ["p"] and keys.tasks == ["a", "dev", "qa"]


@given(st.lists(st.sampled_from(["assign-a", "assign-b", "verify-a", "verify-b", "start-a"]), max_size=12),
       st.integers(min_value=0, max_value=12))
def test_a_batch_boundary_changes_no_row(steps: list[str], cut: int) -> None:
    """Folding a log in two batches (rows written, then reloaded) equals folding it in one."""
    events = [ev(ModulePlanned("backend", "pm", (), Policy()), n=100)]
    for n, step in enumerate(steps):
        verb, task = step.split("-")
        events.append({"assign": lambda t, n: assigned(t, n=n),
                       "verify": lambda t, n: ev(TaskVerified(t, "backend", Role.DEV, ()), n=n),
                       "start": lambda t, n: ev(TaskStarted(t, "backend", Role.DEV, 1, 0, 1), Role.DEV, n=n),
                       }[verb](task, n))
    whole = Rows()
    for e in events:
        fold(whole, e)
    first, second = events[:cut + 1], events[cut + 1:]
    part = Rows()
    for e in first:
        fold(part, e)
    stored_counts: dict[tuple[str, str], list[int]] = {}
    for t in part.tasks.values():
        key = (t["project_id"], t["area"])
        stored_counts.setdefault(key, [0, 0])
        stored_counts[key][0] += 1
        stored_counts[key][1] += int(t["verified"])
    again = Rows(projects=dict(part.projects), modules={k: dict(v) for k, v in part.modules.items()},
                 tasks={k: dict(v) for k, v in part.tasks.items()}, counts=stored_counts)
    for e in second:
        fold(again, e)
    assert again.tasks == whole.tasks and again.modules == whole.modules
