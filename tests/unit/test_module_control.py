"""Pause, resume and cancel one module: each actor's rules as given/when/then folds, the
operator's allowed transitions and the read model (docs/flow.md, "Controls")."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.core import control
from orchestrator.core.envelope import Event, Tick
from orchestrator.core.events import (
    AlertKind,
    ModuleBlocked,
    ModuleCancelled,
    ModuleCompleted,
    ModulePaused,
    ModuleResumed,
    ProjectBlocked,
    ProjectPaused,
    ProjectResumed,
    Role,
    TaskCancelled,
    TaskStarted,
)
from orchestrator.core.worker import runs
from services.cto import decider as cto
from services.dev import decider as dev
from services.monitor import decider as monitor
from services.monitor.track import Running
from services.pm import decider as pm
from services.projections.projection import fold
from services.projections.rowset import Rows
from services.qa import decider as qa
from tests.unit import test_cto_decider as c
from tests.unit import test_monitor_decider as m
from tests.unit import test_pm_decider as p
from tests.unit import test_worker_deciders as w
from tests.unit.test_control_deciders import control as said

AREA = w.AREA  # backend: the workers' and the Monitor's module
PAUSE, RESUME = ModulePaused(AREA, "lunch"), ModuleResumed(AREA, "")


# -- workers --------------------------------------------------------------------------


def test_a_paused_module_claims_nothing_new() -> None:
    assert w.then(dev, [said(PAUSE)], w.assigned(Role.DEV)) == []
    assert w.then(qa, [w.assigned(Role.QA), said(PAUSE)], w.qa_requested()) == []
    assert w.then(dev, [w.assigned(Role.DEV), w.completed(Role.DEV), said(PAUSE)], w.rework()) == []


def test_a_pause_of_another_module_claims_as_usual() -> None:
    other = ModulePaused("web", "")
    assert w.then(dev, [said(other)], w.assigned(Role.DEV)) == [
        TaskStarted(w.tid(Role.DEV), AREA, Role.DEV, 1, 0, w.LEASE)]


def test_a_resumed_module_claims_what_waited() -> None:
    assert w.then(dev, [said(PAUSE), w.assigned(Role.DEV)], said(RESUME)) == [
        TaskStarted(w.tid(Role.DEV), AREA, Role.DEV, 1, 0, w.LEASE)]
    history = [w.assigned(Role.QA), said(PAUSE), w.qa_requested(round=2)]
    assert w.then(qa, history, said(RESUME)) == [TaskStarted(w.tid(Role.QA), AREA, Role.QA, 1, 2, w.LEASE)]


def test_a_running_claim_keeps_running_through_a_module_pause() -> None:
    state = w.fold(dev, w.me(Role.DEV), w.assigned(Role.DEV), said(PAUSE))
    assert [s.payload.task_id for s in runs.unfinished(state)] == [w.tid(Role.DEV)]  # type: ignore[attr-defined]
    assert w.then(dev, [w.assigned(Role.DEV), said(PAUSE)], said(RESUME)) == []


def test_a_module_resumed_while_the_project_is_paused_waits_for_the_project() -> None:
    history = [said(PAUSE), said(ProjectPaused("")), w.assigned(Role.DEV)]
    assert w.then(dev, history, said(RESUME)) == []
    claim = [TaskStarted(w.tid(Role.DEV), AREA, Role.DEV, 1, 0, w.LEASE)]
    assert w.then(dev, [*history, said(RESUME)], said(ProjectResumed(""))) == claim


def test_a_project_resumed_while_the_module_is_paused_claims_nothing_of_it() -> None:
    history = [said(ProjectPaused("")), said(PAUSE), w.assigned(Role.DEV)]
    assert w.then(dev, history, said(ProjectResumed(""))) == []
    claim = [TaskStarted(w.tid(Role.DEV), AREA, Role.DEV, 1, 0, w.LEASE)]
    assert w.then(dev, [*history, said(ProjectResumed(""))], said(RESUME)) == claim


def test_a_cancelled_module_leaves_its_workers_nothing_to_run() -> None:
    """The PM's `task.cancelled` stops the run (the shell cancels it: a process group killed)."""
    cancelled = w.ev(TaskCancelled(w.tid(Role.DEV), AREA, "module cancelled by an operator"))
    state = w.fold(dev, w.me(Role.DEV), w.assigned(Role.DEV), cancelled)
    assert runs.unfinished(state) == []
    state = dev.evolve(state, w.ev(ModuleBlocked(AREA, "cancelled by an operator")))
    assert dev.is_terminal(state)


# -- Monitor --------------------------------------------------------------------------


def running_dev(at: int = 0) -> list[Event]:
    return [*m.module(), m.started(m.DEV(), Role.DEV, at=at)]


def test_a_paused_module_raises_no_alert_and_is_not_due() -> None:
    history = [*running_dev(), said(PAUSE, at=10)]
    assert m.then(history, Tick(10 * m.DEADLINE)) == []
    assert monitor.due(m.fold(*history)) is None


def test_a_pause_of_another_module_stops_no_clock_here() -> None:
    history = [*running_dev(), said(ModulePaused("web", ""), at=10)]
    assert m.alert(m.DEV(), AlertKind.DEADLINE_MISSED) in m.alerts(m.then(history, Tick(m.DEADLINE)))


def test_a_module_resume_extends_its_deadlines_by_the_time_paused() -> None:
    paused = 5 * m.DEADLINE
    history = [*running_dev(), said(PAUSE, at=10), said(RESUME, at=10 + paused)]
    track = m.fold(*history).tasks[m.DEV()]
    assert isinstance(track.phase, Running) and track.phase.since == paused
    assert m.alert(m.DEV(), AlertKind.DEADLINE_MISSED) in m.alerts(m.then(history, Tick(paused + m.DEADLINE)))
    early = m.alerts(m.then(history, Tick(paused + m.DEADLINE - 1)))
    assert m.alert(m.DEV(), AlertKind.DEADLINE_MISSED) not in early


@pytest.mark.parametrize("order", ["module first", "project first"])
def test_overlapping_module_and_project_pauses_count_the_stop_once(order: str) -> None:
    """Stopped from 10 to 100 by either pause: the deadline moves on by 90, whatever the order."""
    project, module = [said(ProjectPaused(""), at=10), said(ProjectResumed(""), at=60)], \
        [said(PAUSE, at=30), said(RESUME, at=100)]
    if order == "project first":
        history = [*running_dev(), project[0], module[0], project[1], module[1]]
    else:
        project, module = [said(ProjectPaused(""), at=30), said(ProjectResumed(""), at=100)], \
            [said(PAUSE, at=10), said(RESUME, at=60)]
        history = [*running_dev(), module[0], project[0], module[1], project[1]]
    track = m.fold(*history).tasks[m.DEV()]
    assert isinstance(track.phase, Running) and track.phase.since == 90


def test_a_module_lease_starts_afresh_on_resume() -> None:
    history = [*running_dev(), said(PAUSE, at=10), said(RESUME, at=10_000)]
    assert m.then(history, Tick(10_000 + m.LEASE - 1)) == []
    assert m.alert(m.DEV(), AlertKind.SILENT_WORKER) in m.alerts(m.then(history, Tick(10_000 + m.LEASE)))


# -- PM and CTO -----------------------------------------------------------------------


def test_a_module_cancel_cancels_its_open_tasks_then_blocks_it() -> None:
    state = p.run([p.PLANNED, p.verified(p.DEV2)])
    outs = pm.decide(state, said(ModuleCancelled("web", "out of scope")))
    why = "cancelled by an operator: out of scope"
    assert p.shapes(outs) == [
        *[("task.cancelled", TaskCancelled(t, "web", f"module {why}")) for t in (p.DEVN, p.QAN, p.OPS)],
        ("module.blocked", ModuleBlocked("web", why))]


def test_a_cancel_of_another_module_or_an_ended_one_yields_nothing() -> None:
    state = p.run([p.PLANNED])
    assert pm.decide(state, said(ModuleCancelled("backend", ""))) == []
    blocked = p.run([p.PLANNED, said(ModuleCancelled("web", "")), p.event(ModuleBlocked("web", "x"), "b")])
    assert pm.decide(blocked, said(ModuleCancelled("web", ""))) == []


def test_a_cancelled_module_blocks_the_project_while_the_others_go_on() -> None:
    """The CTO sees the `module.blocked` the PM emits: the project ends blocked once the others end."""
    blocked = c.event(ModuleBlocked("backend", "cancelled by an operator"), "mb-1")
    [out] = [o for o in cto.decide(c.given([c.PLANNED]), blocked) if o.type == "project.blocked"]
    assert out.payload == ProjectBlocked(("backend",), "module backend blocked: cancelled by an operator")
    state = c.given([c.PLANNED, blocked, out])
    assert not cto.is_terminal(state)  # web still runs
    assert cto.is_terminal(cto.evolve(state, c.event(ModuleCompleted("web", 5), "mc")))


# -- the operator's transitions and the read model ------------------------------------

MODULE = {"project_id": "shop-1", "area": "web", "status": "planned", "request_id": "req-1",
          "project_status": "created"}


def test_module_controls_make_their_events_keyed_by_the_project() -> None:
    pause = control.module_event("pause", MODULE, "lunch", now_ms=5)
    assert (pause.type, pause.payload, pause.project_id, pause.actor.role) == (
        "module.paused", ModulePaused("web", "lunch"), "shop-1", Role.CLIENT)
    paused = {**MODULE, "status": "paused"}
    assert control.module_event("resume", paused, now_ms=1).payload == ModuleResumed("web")
    assert control.module_event("cancel", {**MODULE, "status": "paused"}, now_ms=1).type == "module.cancelled"
    assert pause.tenant is None  # a row without one: the default tenant's, as before
    assert control.module_event("pause", {**MODULE, "tenant": "team-a"}, now_ms=1).tenant == "team-a"


@pytest.mark.parametrize(("action", "status", "project"), [
    ("pause", "paused", "created"), ("resume", "planned", "created"), ("cancel", "completed", "created"),
    ("cancel", "cancelled", "created"), ("pause", "blocked", "created"), ("pause", "planned", "completed"),
    ("cancel", "planned", "cancelled"), ("stop", "planned", "created"),
])
def test_a_module_control_that_does_not_apply_is_refused(action: str, status: str, project: str) -> None:
    with pytest.raises(control.Refused, match=action):
        control.module_event(action, {**MODULE, "status": status, "project_status": project}, now_ms=1)


@pytest.mark.parametrize(("status", "project", "offered"), [
    ("planned", "created", ["pause", "cancel"]), ("resumed", "resumed", ["pause", "cancel"]),
    ("paused", "paused", ["resume", "cancel"]), ("completed", "created", []),
    ("cancelled", "created", []), ("planned", "completed", []), ("paused", "cancelled", []),
])
def test_the_dashboard_offers_exactly_the_module_actions_module_event_takes(
        status: str, project: str, offered: list[str]) -> None:
    module = {**MODULE, "status": status, "project_status": project}
    assert control.module_actions(module) == offered
    for action in control.MODULE_ACTIONS:  # the buttons and the 409 are one rule
        if action in offered:
            assert control.module_event(action, module, now_ms=1).payload.area == "web"
        else:
            with pytest.raises(control.Refused):
                control.module_event(action, module, now_ms=1)


def test_the_read_model_shows_the_module_paused_resumed_cancelled_and_keeps_it_cancelled() -> None:
    rows = Rows()
    rows.modules[("shop-1", "web")] = {"project_id": "shop-1", "area": "web", "status": "planned"}
    row = rows.modules[("shop-1", "web")]
    for action, shown in (("pause", "paused"), ("resume", "resumed"), ("cancel", "cancelled")):
        fold(rows, control.module_event(action, {**MODULE, "status": row["status"]}, now_ms=1))
        assert row["status"] == shown
    fold(rows, p.event(ModuleBlocked("web", "cancelled by an operator"), "b"))
    fold(rows, control.module_event("pause", MODULE, now_ms=2))
    assert row["status"] == "cancelled"
    assert ("shop-1", "web") in rows.changed["modules"]


# -- idempotency ----------------------------------------------------------------------

CONTROLS: list[Event | Tick] = [
    said(PAUSE, 5), said(RESUME, 50), said(ProjectPaused(""), 20), said(ProjectResumed(""), 60),
    said(PAUSE, 80), said(RESUME, 90), said(ModuleCancelled(AREA, ""), 95)]


def _pool(*events: Event | Tick) -> list[Event | Tick]:
    return [*events, *CONTROLS]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(_pool(*m.POOL)), max_size=25))
def test_monitor_replayed_with_module_controls_yields_nothing_new(inputs: list[Event | Tick]) -> None:
    m.assert_replay_yields_nothing_new(monitor.decide, monitor.evolve, m.fold(*m.module()), inputs)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(_pool(
    w.assigned(Role.DEV), w.assigned(Role.DEV, attempt=2), w.rework(round=1), w.rework(round=2),
    w.completed(Role.DEV), w.completed(Role.DEV, round=1))), max_size=20))
def test_dev_replayed_with_module_controls_yields_nothing_new(inputs: list[Event | Tick]) -> None:
    m.assert_replay_yields_nothing_new(dev.decide, dev.evolve, dev.initial_state(w.me(Role.DEV)), inputs)


def _pm_controls() -> list[Event | Tick]:
    return [said(ModuleCancelled("web", "x"), 95), said(ModulePaused("web", ""), 5), p.verified(p.DEV2),
            p.alert(p.DEV2), p.PLANNED]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(_pm_controls()), max_size=20))
def test_pm_replayed_with_module_controls_yields_nothing_new(inputs: list[Event | Tick]) -> None:
    m.assert_replay_yields_nothing_new(pm.decide, pm.evolve, pm.initial_state(p.PM), inputs)
