"""The catalog: one writer per event type, and Python types that mirror the .avsc records."""

from __future__ import annotations

import dataclasses
import json

from orchestrator.core import catalog, events
from orchestrator.core.schemas import SCHEMA_DIR

BLUEPRINT = {"project.created", "module.planned", "task.assigned", "task.completed", "qa.failed",
             "qa.passed", "devops.deployed", "monitor.alert", "project.completed"}
IMPLIED = {"spec.submitted", "spec.rejected", "charter.created", "task.started", "task.heartbeat",
           "task.failed", "qa.requested", "task.rework_requested", "devops.requested",
           "devops.failed", "smoke.passed", "smoke.failed", "task.verified", "task.cancelled",
           "pm.escalated", "cto.decided", "module.completed", "module.blocked", "project.blocked",
           "project.sealed"}
ACTORS = {"client", "spec", "cto", "pm", "monitor", "dev", "qa", "devops", "worker", "projector"}


def test_the_catalog_has_the_blueprint_events_and_every_implied_one() -> None:
    assert set(catalog.BY_TYPE) >= BLUEPRINT | IMPLIED


def test_each_event_type_has_exactly_one_emitting_actor() -> None:
    for entry in catalog.ENTRIES:
        assert entry.emitter in ACTORS
    assert len(catalog.BY_TYPE) == len(catalog.ENTRIES)
    writers = {t: [a for a in ACTORS - {"worker"} if catalog.may_emit(a, t)] for t in catalog.BY_TYPE}
    for event_type, who in writers.items():
        if catalog.BY_TYPE[event_type].emitter == "worker":
            assert set(who) == {"dev", "qa", "devops"}
        else:
            assert who == [catalog.BY_TYPE[event_type].emitter], event_type


def test_each_payload_class_mirrors_its_avsc_record_field_for_field() -> None:
    for entry in catalog.ENTRIES:
        avsc = json.loads((SCHEMA_DIR / "events" / f"{entry.type}.avsc").read_text())
        assert avsc["name"] == entry.cls.__name__
        assert [f["name"] for f in avsc["fields"]] == [f.name for f in dataclasses.fields(entry.cls)]


def test_the_envelope_payload_union_is_exactly_the_catalog() -> None:
    envelope = json.loads((SCHEMA_DIR / "envelope.avsc").read_text())
    union = next(f["type"] for f in envelope["fields"] if f["name"] == "payload")
    assert union == [entry.record_name for entry in catalog.ENTRIES]


def test_enums_mirror_their_avsc_symbols() -> None:
    for cls in (events.Role, events.Scope, events.AlertKind, events.Severity, events.Decision):
        avsc = json.loads((SCHEMA_DIR / "types" / f"{cls.__name__}.avsc").read_text())
        assert avsc["symbols"] == [m.value for m in cls]
