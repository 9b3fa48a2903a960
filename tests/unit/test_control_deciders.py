"""Pause, resume and cancel a project: each actor's rules as given/when/then folds (docs/flow.md)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.core.envelope import Actor, Event, Tick
from orchestrator.core.events import (
    AlertKind,
    MonitorAlert,
    Payload,
    ProjectCancelled,
    ProjectPaused,
    ProjectResumed,
    Role,
    Severity,
    TaskCancelled,
    TaskStarted,
)
from orchestrator.core.worker import runs
from services.cto import decider as cto
from services.dev import decider as dev
from services.monitor import decider as monitor
from services.monitor.track import Running
from services.pm import decider as pm
from services.qa import decider as qa
from tests.unit import test_monitor_decider as m
from tests.unit import test_pm_decider as p
from tests.unit import test_worker_deciders as w

OPERATOR = Actor(Role.CLIENT, None, "operator")


def control(payload: Payload, at: int = 0) -> Event:
    return Event(f"control-{type(payload).__name__}-{at}", m.PID, "req-1", None, at, OPERATOR, payload)


PAUSE, RESUME, CANCEL = ProjectPaused("lunch"), ProjectResumed(""), ProjectCancelled("wrong spec")


# -- workers --------------------------------------------------------------------------


def test_a_paused_worker_claims_nothing_new() -> None:
    assert w.then(dev, [control(PAUSE)], w.assigned(Role.DEV)) == []
    assert w.then(qa, [w.assigned(Role.QA), control(PAUSE)], w.qa_requested()) == []


def test_a_resumed_worker_claims_what_waited_while_paused() -> None:
    history = [control(PAUSE), w.assigned(Role.DEV)]
    assert w.then(dev, history, control(RESUME)) == [
        TaskStarted(w.tid(Role.DEV), w.AREA, Role.DEV, 1, 0, w.LEASE)]
    history = [w.assigned(Role.QA), control(PAUSE), w.qa_requested(round=2)]
    assert w.then(qa, history, control(RESUME)) == [
        TaskStarted(w.tid(Role.QA), w.AREA, Role.QA, 1, 2, w.LEASE)]


def test_the_claim_made_on_resume_has_the_id_the_trigger_would_have_given() -> None:
    normal = dev.decide(w.fold(dev, w.me(Role.DEV)), w.assigned(Role.DEV))
    state = w.fold(dev, w.me(Role.DEV), control(PAUSE), w.assigned(Role.DEV))
    assert [o.event_id for o in dev.decide(state, control(RESUME))] == [o.event_id for o in normal]


def test_a_running_claim_keeps_running_through_a_pause() -> None:
    state = w.fold(dev, w.me(Role.DEV), w.assigned(Role.DEV), control(PAUSE))
    assert [s.payload.task_id for s in runs.unfinished(state)] == [w.tid(Role.DEV)]  # type: ignore[attr-defined]
    assert w.then(dev, [w.assigned(Role.DEV), control(PAUSE)], control(RESUME)) == []


def test_a_cancelled_project_leaves_the_worker_nothing_to_run() -> None:
    state = w.fold(dev, w.me(Role.DEV), w.assigned(Role.DEV), control(CANCEL))
    assert runs.unfinished(state) == []
    assert dev.is_terminal(state)


# -- Monitor --------------------------------------------------------------------------


def running_dev(at: int = 0) -> list[Event]:
    return [*m.module(), m.started(m.DEV(), Role.DEV, at=at)]


def test_a_paused_monitor_raises_no_alert_and_is_not_due() -> None:
    history = [*running_dev(), control(PAUSE, at=10)]
    assert m.then(history, Tick(10 * m.DEADLINE)) == []
    assert monitor.due(m.fold(*history)) is None


def test_a_resume_extends_the_deadline_by_the_time_paused() -> None:
    paused = 5 * m.DEADLINE
    history = [*running_dev(), control(PAUSE, at=10), control(RESUME, at=10 + paused)]
    state = m.fold(*history)
    track = state.tasks[m.DEV()]
    assert isinstance(track.phase, Running) and track.phase.since == paused
    late = m.alerts(m.then(history, Tick(paused + m.DEADLINE)))
    assert m.alert(m.DEV(), AlertKind.DEADLINE_MISSED) in late
    early = m.alerts(m.then(history, Tick(paused + m.DEADLINE - 1)))
    assert m.alert(m.DEV(), AlertKind.DEADLINE_MISSED) not in early


def test_a_lease_starts_afresh_on_resume() -> None:
    history = [*running_dev(), control(PAUSE, at=10), control(RESUME, at=10_000)]
    assert m.then(history, Tick(10_000 + m.LEASE - 1)) == []
    assert m.alert(m.DEV(), AlertKind.SILENT_WORKER) in m.alerts(m.then(history, Tick(10_000 + m.LEASE)))


def test_a_cancelled_project_ends_the_monitor() -> None:
    state = m.fold(*running_dev(), control(CANCEL))
    assert monitor.is_terminal(state) and monitor.due(state) is None


# -- PM and CTO -----------------------------------------------------------------------


def test_a_cancel_cancels_every_open_task_of_the_module() -> None:
    state = p.run([p.PLANNED, p.verified(p.DEV2)])
    outs = pm.decide(state, control(CANCEL))
    why = "project cancelled: wrong spec"
    assert p.shapes(outs) == [("task.cancelled", TaskCancelled(t, "web", why))
                              for t in (p.DEVN, p.QAN, p.OPS)]
    assert pm.is_terminal(pm.evolve(state, control(CANCEL)))


def test_a_cancelled_pm_ignores_alerts_afterwards() -> None:
    state = p.run([p.PLANNED, control(CANCEL)])
    assert pm.decide(state, p.alert(p.DEV2)) == []


def test_a_cancelled_project_ends_the_cto_without_completing() -> None:
    me = Actor(Role.CTO)
    state = cto.evolve(cto.initial_state(me), control(CANCEL))
    assert cto.is_terminal(state)


# -- idempotency ----------------------------------------------------------------------

CONTROLS: list[Event | Tick] = [control(PAUSE, 5), control(RESUME, 50), control(CANCEL, 70),
                                control(PAUSE, 80), control(RESUME, 90)]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([*m.POOL, *CONTROLS]), max_size=25))
def test_monitor_deciding_again_after_its_outputs_yields_nothing_new(inputs: list[Event | Tick]) -> None:
    m.assert_replay_yields_nothing_new(monitor.decide, monitor.evolve, m.fold(*m.module()), inputs)


WORKER_POOL: list[Event | Tick] = [
    w.assigned(Role.DEV), w.assigned(Role.DEV, attempt=2), w.rework(round=1), w.rework(round=2),
    w.completed(Role.DEV), w.completed(Role.DEV, round=1), *CONTROLS,
]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(WORKER_POOL), max_size=20))
def test_dev_deciding_again_after_its_outputs_yields_nothing_new(inputs: list[Event | Tick]) -> None:
    m.assert_replay_yields_nothing_new(dev.decide, dev.evolve, dev.initial_state(w.me(Role.DEV)), inputs)


PM_POOL: list[Event | Tick] = [
    p.PLANNED, p.verified(p.DEV2), p.alert(p.DEV2), p.alert(p.QA2, event_id="a2"),
    p.event(MonitorAlert(p.OPS, "web", AlertKind.DEPLOY_FAILED, Severity.WARNING, 1, 0, "x"), "a3"),
    *CONTROLS,
]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(PM_POOL), max_size=20))
def test_pm_deciding_again_after_its_outputs_yields_nothing_new(inputs: list[Event | Tick]) -> None:
    m.assert_replay_yields_nothing_new(pm.decide, pm.evolve, pm.initial_state(p.PM), inputs)
