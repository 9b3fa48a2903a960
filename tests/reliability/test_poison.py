"""Poison input into every topic the services read: each record lands in the DLQ once, with
the error and its source topic/partition/offset, the partition keeps flowing, and the good
records around it are all processed. On the log the projector letters what nobody can decode
(every actor skips it); on the ingestion topic SPEC does. `orchestrator dlq list|replay`
reads and re-drives them.
"""

from __future__ import annotations

import copy
import io
import json
import time
import uuid
from typing import Any

import pytest
from confluent_kafka import Producer
from fastavro import schemaless_writer
from fastavro.schema import parse_schema
from typer.testing import CliRunner

from orchestrator.adapters import bus
from orchestrator.adapters.config import Settings
from orchestrator.core import codec, exitcodes
from orchestrator.core.envelope import Actor, Event
from orchestrator.core.events import Role, TaskCompleted, TaskVerified
from orchestrator.core.schemas import fingerprint_of, load_current
from orchestrator.entrypoints import demo, dlq

from . import harness
from .conftest import record

pytestmark = pytest.mark.reliability


def _bogus_schema() -> dict[str, Any]:
    """The current envelope with one more payload record the catalog does not know."""
    schema = copy.deepcopy(load_current())
    payload = next(f for f in schema["fields"] if f["name"] == "payload")
    payload["type"].append(
        {
            "type": "record",
            "name": "BogusHappened",
            "namespace": "orchestrator.events",
            "fields": [{"name": "what", "type": "string"}],
        }
    )
    return schema


def _bogus_body(schema: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    schemaless_writer(
        out,
        parse_schema(schema),
        {
            "event_id": str(uuid.uuid4()),
            "type": "bogus.happened",
            "occurred_at": 0,
            "project_id": "ghost",
            "request_id": "ghost",
            "causation_id": None,
            "actor": {"role": "pm", "area": None, "instance": "x"},
            "artifacts": [],
            "payload": ("orchestrator.events.BogusHappened", {"what": "nothing"}),
        },
    )
    return out.getvalue()


def ghost_event(payload: Any) -> Event:
    return Event(
        str(uuid.uuid4()),
        f"ghost-{uuid.uuid4().hex[:6]}",
        "ghost-request",
        None,
        int(time.time() * 1000),
        Actor(Role.MONITOR, "backend", "x"),
        payload,
    )


def poisons(settings: Settings) -> dict[str, bytes]:
    good = codec.encode(ghost_event(TaskVerified("t", "backend", Role.DEV, ("FR-1",))))
    bogus = _bogus_schema()
    fp, _ = codec._current()
    return {
        "not Avro": b"this is not avro \x00\xff",
        "unknown fingerprint": codec.MARKER + b"\x13" * 8 + good[codec.HEADER_LEN :],
        "truncated": good[: len(good) // 2],
        # written with a schema whose payload union has an extra record: its own fingerprint ...
        "unknown event type (new schema)": codec.MARKER + fingerprint_of(bogus) + _bogus_body(bogus),
        # ... and under the current fingerprint, where the union branch does not exist
        "unknown event type (current fingerprint)": codec.MARKER + fp + _bogus_body(bogus),
        "oversized": good + b"\x00" * (settings.max_record_bytes + 16 * 1024 - len(good)),
    }


def test_poison_in_every_topic_is_dead_lettered_and_the_partition_keeps_flowing(
    fleet: demo.Fleet, ledger: harness.Ledger
) -> None:
    settings = fleet.settings
    demo.start_actors(fleet)
    fleet.start("projector")
    first = harness.workload(4, seed=11)
    later = harness.workload(4, seed=12)
    harness.submit(settings, first)
    rids = {p.request_id for p in first}
    # poison goes in while the first projects run, keyed to their partitions
    created = harness.wait_until(
        ledger, rids, lambda es: {e.request_id for e in es if e.type == "project.created"} >= rids, 90
    )
    keys = sorted({e.project_id for e in created if e.type == "project.created"})
    raw = Producer(
        {"bootstrap.servers": settings.bootstrap, "message.max.bytes": settings.max_record_bytes + 64 * 1024}
    )
    placed: dict[tuple[str, int, int], str] = {}

    def put(topic: str, key: bytes, value: bytes, name: str) -> None:
        def done(err: Any, msg: Any) -> None:
            assert err is None, err
            placed[(msg.topic(), msg.partition(), msg.offset())] = name

        raw.produce(topic, value, key, on_delivery=done)

    for i, (name, value) in enumerate(poisons(settings).items()):
        put(settings.events_topic, keys[i % len(keys)].encode(), value, name)
        put(settings.specs_topic, later[i % len(later)].request_id.encode(), value, name)
    # events for projects that do not exist: valid, so handled (ignored), never dead-lettered
    publisher = bus.Publisher(settings)
    ghosts = [
        ghost_event(TaskVerified("nope", "web", Role.DEV, ("FR-9",))),
        ghost_event(TaskCompleted("nope", "web", Role.DEV, 1, 0, "done")),
    ]
    publisher.publish_sync(ghosts)
    publisher.close()
    assert raw.flush(30) == 0
    harness.submit(settings, later)  # good records after the poison, on the same partitions
    everyone = rids | {p.request_id for p in later}
    events = harness.wait_until(ledger, everyone, harness.all_terminal(everyone), 150)
    assert set(harness.terminal_of(events)) >= everyone
    assert set(harness.terminal_of(events).values()) == {"project.completed"}

    deadline = time.monotonic() + 60
    while True:
        letters = dlq.read(settings)
        by_source: dict[tuple[str, int, int], list[dlq.DeadLetter]] = {}
        for d in letters:
            by_source.setdefault(d.source, []).append(d)
        complete = all(len(by_source.get(src, [])) >= 1 for src in placed)
        if complete or time.monotonic() > deadline:
            break
        time.sleep(1)
    for src, name in placed.items():
        got = by_source.get(src, [])
        assert len(got) == 1, f"{name} at {src}: {len(got)} dead letters, wanted one"
        owner = "projector" if src[0] == settings.events_topic else "spec"
        for d in got:
            assert d.message and d.exception.endswith("DecodeError"), (name, d.summary())
            assert d.consumer_group.startswith(f"{settings.topic_prefix}-{owner}"), d.consumer_group
    for ghost in ghosts:  # no dead letter, no crash
        assert not any(d.key == ghost.project_id.encode() for d in letters)
    assert len(letters) == len(placed)
    assert fleet.dead() == []
    record(
        {
            "fault": "poison: 6 kinds x 2 topics + 2 ghost events",
            "projects": 8,
            "terminal": len(harness.terminal_of(events)),
            "tasks_expected": harness.expected_tasks(first + later),
            "tasks_verified": len({e.payload.task_id for e in events if e.type == "task.verified"}),  # type: ignore[union-attr]
            "tasks_lost": 0,
            "duplicate_effects": harness.check("poison", first + later, ledger, None)[0].duplicate_effects,
            "log_copies": 0,
            "recovery_s": None,
            "dlq": len(letters),
            "digest": "",
            "problems": [],
        }
    )

    # the operator's view and re-drive
    env = demo.settings_env(settings)
    runner = CliRunner()
    app = _cli()
    listed = runner.invoke(app, ["dlq", "list", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert len(rows) == len(letters)
    assert {(r["original_topic"], r["original_partition"], r["original_offset"]) for r in rows} == set(placed)
    spec_letter = next(d for d in letters if d.original_topic == settings.specs_topic)
    before = len(letters)
    replayed = runner.invoke(app, ["dlq", "replay", "--offset", str(spec_letter.offset)], env=env)
    assert replayed.exit_code == 0, replayed.output
    assert "1 record(s) re-driven" in replayed.output
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # re-driven, it fails again: one more dead letter
        again = dlq.read(settings)
        if len(again) > before:
            break
        time.sleep(1)
    newest = again[-1]
    assert newest.original_topic == settings.specs_topic
    assert newest.original_offset > spec_letter.original_offset  # a new record on the topic
    assert newest.value == spec_letter.value and newest.key == spec_letter.key
    assert runner.invoke(app, ["dlq", "replay"], env=env).exit_code == exitcodes.USAGE
    assert fleet.dead() == []


def _cli() -> Any:
    from orchestrator.entrypoints import cli

    return cli.app
