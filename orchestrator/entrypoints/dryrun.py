"""A whole fleet of pure deciders in one process: every event a spec causes, with no Kafka.

Each actor gets a `Runtime` as in its service; events go through a queue in the order
they are decided; workers run their claims at once with the simulated executor's pure
core (every other kind counts as a success). No clock either: time is a counter, so no
deadline ever passes and the run is the same every time. Useful to see what a spec will
do before submitting it, and to make realistic event streams for tests and benchmarks.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from importlib import import_module
from typing import cast

from orchestrator.adapters import executors
from orchestrator.core import actors
from orchestrator.core.decider import Worker
from orchestrator.core.envelope import Actor, Event
from orchestrator.core.worker.reports import usage
from orchestrator.core.worker.work import Outcome, Work
from orchestrator.shell.parts import ActorDef
from orchestrator.shell.runtime import Runtime


def simulate(work: Work) -> Outcome:
    options = dict(work.executor.options) if work.executor.kind == "simulated" else {}
    fail_first = frozenset(x.strip() for x in options.get("fail_first", "").split(",") if x.strip())
    rate = float(options.get("failure_rate", "0"))
    smoke = float(options.get("smoke_failure_rate", "0"))
    return executors.simulate(work, options.get("seed", "0"), rate, smoke, fail_first)


def run(submission: Event, limit: int = 1_000_000, clock_start: int = 0,
        outcome_of: Callable[[Work], Outcome] = simulate) -> list[Event]:
    """Every event `submission` leads to, in decision order (the submission first)."""
    defs: list[ActorDef] = [import_module(f"services.{name}.main").definition() for name in actors.ACTORS]
    runtimes = [(d, me, Runtime(d.decider, partial(d.decider.initial_state, me)))
                for d in defs for me in [Actor(d.role, None, f"dry-{d.name}")]]
    clock = itertools.count(clock_start + 1)
    done: set[str] = set()
    queue: deque[Event] = deque([submission])
    out: list[Event] = []

    def stamp(events: list[Event], me: Actor) -> list[Event]:
        return [replace(e, occurred_at=next(clock), actor=replace(e.actor, instance=me.instance))
                for e in events]

    while queue and len(out) < limit:
        event = queue.popleft()
        out.append(event)
        key = event.project_id or event.request_id
        for defn, me, runtime in runtimes:
            intake = event.type == "spec.submitted"  # SPEC reads the ingestion topic, the others the log
            if type(event.payload) not in defn.decider.interests or defn.intake != intake:
                continue
            step = runtime.handle(key, 0, event)
            if step is not None:
                queue.extend(runtime.apply(step, stamp(step.outputs, me)))
            if defn.worker and key in runtime.entries:
                worker = cast(Worker, defn.decider)
                for claim in worker.resume(runtime.state(key)):
                    if claim.event_id in done:
                        continue
                    done.add(claim.event_id)
                    state = runtime.state(key)
                    outcome = outcome_of(worker.work_of(state, claim))
                    results = worker.finish(state, claim, outcome)
                    results = [usage(claim, outcome, me), *results] if results else []  # as the shell
                    queue.extend(runtime.apply(runtime.outputs(key, results), stamp(results, me)))
    return out
