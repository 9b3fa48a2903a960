"""The runtime every shell runs its decider in: dedupe, fold order, forgetting, rollback, timers."""

from __future__ import annotations

from dataclasses import dataclass, replace

from orchestrator.core.envelope import Actor, Event, Tick
from orchestrator.core.events import (
    CharterCreated,
    ModuleCompleted,
    ModulePlanned,
    Policy,
    ProjectCompleted,
    Role,
)
from orchestrator.shell.runtime import Runtime, digest


@dataclass(frozen=True)
class Count:
    """A toy decider's state: what it folded, and when it wants a tick."""

    seen: tuple[str, ...] = ()
    done: bool = False
    wake: int | None = None


class Toy:
    """Folds module events; answers a module.planned with a module.completed; ends on project.completed."""

    interests = frozenset({ModulePlanned, ModuleCompleted, ProjectCompleted})

    @staticmethod
    def initial_state(me: Actor) -> Count:
        return Count()

    @staticmethod
    def evolve(state: Count, event: Event) -> Count:
        match event.payload:
            case ModulePlanned() | ModuleCompleted():
                return replace(state, seen=(*state.seen, event.type), wake=100)
            case ProjectCompleted():
                return replace(state, done=True)
            case _:
                return state

    @staticmethod
    def decide(state: Count, event: Event | Tick) -> list[Event]:
        match event:
            case Event(payload=ModulePlanned(area=area)):
                return [replace(event, event_id=f"{event.event_id}-done", payload=ModuleCompleted(area, 1))]
            case Tick():
                return [ev("tick-out", ProjectCompleted(("web",)))] if state.wake is not None else []
            case _:
                return []

    @staticmethod
    def is_terminal(state: Count) -> bool:
        return state.done

    @staticmethod
    def due(state: Count) -> int | None:
        return state.wake


ME = Actor(Role.PM, None, "pm-0")


def ev(event_id: str, payload: object, project: str = "p1") -> Event:
    return Event(event_id, project, "r1", None, 1, ME, payload)  # type: ignore[arg-type]


def planned(event_id: str = "e1", project: str = "p1") -> Event:
    return ev(event_id, ModulePlanned("web", "pm-web", (), Policy()), project)


def runtime() -> Runtime:
    return Runtime(Toy, lambda: Toy.initial_state(ME), Toy.due)


def handle(rt: Runtime, event: Event) -> list[Event]:
    step = rt.handle(event.project_id, 3, event)
    return [] if step is None else rt.apply(step, step.outputs)


def test_decide_sees_the_state_before_the_input_and_outputs_fold_after_it() -> None:
    rt = runtime()
    [out] = handle(rt, planned())
    assert out.type == "module.completed"
    assert rt.state("p1").seen == ("module.planned", "module.completed")


def test_a_redelivered_input_is_dropped_and_so_is_an_event_already_folded_as_an_output() -> None:
    rt = runtime()
    [out] = handle(rt, planned())
    assert rt.handle("p1", 3, planned()) is None
    assert rt.knows("p1", out.event_id) and rt.handle("p1", 3, out) is None


def test_an_event_that_changes_nothing_leaves_no_entry() -> None:
    rt = runtime()
    assert rt.handle("p4", 0, ev("x", CharterCreated("p4", ("web",), ()), "p4")) is None
    assert "p4" not in rt.entries and rt.changes() == []


def test_a_terminal_state_leaves_memory_and_its_stragglers_change_nothing() -> None:
    rt = runtime()
    handle(rt, planned())
    handle(rt, ev("end", ProjectCompleted(("web",))))
    assert "p1" not in rt.entries and "p1" in rt.finished
    assert rt.handle("p1", 3, planned("late")) is None
    assert [(k, p, e) for k, p, e in rt.changes()] == [("p1", 3, None)]  # a tombstone


def test_rollback_returns_to_the_last_commit() -> None:
    rt = runtime()
    handle(rt, planned())
    rt.commit()
    state_before, seen_before = rt.entries["p1"].state, set(rt.entries["p1"].seen)
    handle(rt, planned("e2"))
    handle(rt, ev("end", ProjectCompleted(("web",))))
    handle(rt, planned("other", "p9"))
    rt.rollback()
    assert rt.entries["p1"].state == state_before and rt.entries["p1"].seen == seen_before
    assert "p1" not in rt.finished and "p9" not in rt.entries and rt.changes() == []


def test_changes_list_the_keys_changed_since_the_last_commit() -> None:
    rt = runtime()
    handle(rt, planned())
    [(key, partition, entry)] = rt.changes()
    assert (key, partition) == ("p1", 3) and entry is not None
    assert entry.seen == {digest("e1"), digest("e1-done")}
    rt.commit()
    assert rt.changes() == []


def test_a_tick_reaches_only_keys_whose_timer_is_due() -> None:
    rt = runtime()
    handle(rt, planned())
    assert rt.due_keys(99) == []
    assert rt.due_keys(100) == ["p1"]
    assert rt.due_keys(200) == []  # popped: due again only when its timers move
    step = rt.react("p1", Tick(100))
    assert [o.type for o in step.outputs] == ["project.completed"]


def test_forgetting_a_partition_drops_its_keys_only() -> None:
    rt = runtime()
    handle(rt, planned())
    step = rt.handle("p7", 5, planned("e7", "p7"))
    assert step is not None
    rt.apply(step, step.outputs)
    rt.forget({3})
    assert set(rt.entries) == {"p7"}


def test_replay_folds_without_deciding() -> None:
    rt = runtime()
    rt.fold("p1", 2, planned())
    assert rt.state("p1").seen == ("module.planned",) and rt.dirty == {"p1": 2}
    rt.fold("p1", 2, planned())  # the same event again: already folded
    assert rt.state("p1").seen == ("module.planned",)


def test_the_timer_heap_stays_the_size_of_the_live_keys_however_many_deadlines_moved() -> None:
    rt = Runtime(Toy, lambda: Toy.initial_state(ME), lambda state: 10_000 + len(state.seen))
    for n in range(3_000):  # every project moves its deadline, then ends
        handle(rt, planned(f"e{n}", project=f"p{n}"))
        handle(rt, ev(f"c{n}", ModuleCompleted("api", 1), project=f"p{n}"))
        handle(rt, ev(f"x{n}", ProjectCompleted(("web",)), project=f"p{n}"))
    handle(rt, planned("live", project="live"))
    assert len(rt.timers.heap) <= 2 * len(rt.entries) + 1024 + 1
    assert rt.due_keys(10_001) == []
    assert rt.due_keys(10_002) == ["live"]  # the live key's timer survived every compaction
