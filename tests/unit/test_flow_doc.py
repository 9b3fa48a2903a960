"""docs/flow.md and the deciders' pointers name only things that exist.

Conventions checked: a backticked `word.word` (not a file name) is an event type of the catalog (`qa.*`
a prefix of some), or `policy.<field>` of `events.Policy`; every `services/...`,
`orchestrator/...` or `tests/...` path exists (`a|b` are alternatives); a backticked
`module.function(...)` is a function of `orchestrator.<layer>.<module>` (the module may be
dotted: `worker.tasks`), a bare `function(...)` one of every decider its section's heading
cites; a backticked `snake_case` name is a field of an event or record (`events.py`, the
envelope) or an `AlertKind`. In a decider's
docstring, the backticked names after a services module path, in the same parentheses, are
functions of that module.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.util
import re
from pathlib import Path

import pytest

from orchestrator.core import events
from orchestrator.core.catalog import BY_TYPE
from orchestrator.core.envelope import Event
from orchestrator.core.events import AlertKind, Policy

ROOT = Path(__file__).resolve().parents[2]
FLOW = (ROOT / "docs" / "flow.md").read_text()
TICKED = re.findall(r"`([^`]+)`", FLOW)
PATH = re.compile(r"\b((?:services|orchestrator|tests)/[\w./|]*\w)")


def event_like(text: str = FLOW) -> list[str]:
    return [t for t in re.findall(r"`([^`]+)`", text) if re.fullmatch(r"[a-z]+\.(?:[a-z_]+|\*)", t)
            and not re.search(r"\.(py|json|txt|ya?ml|md|log)$", t)]  # file names


def unknown_names(text: str) -> list[str]:
    fields = {f.name for f in dataclasses.fields(Policy)}
    out = []
    for name in event_like(text):
        head, _, tail = name.partition(".")
        if head == "policy":
            ok = tail in fields
        elif tail == "*":
            ok = any(t.startswith(f"{head}.") for t in BY_TYPE)
        else:
            ok = name in BY_TYPE
        if not ok:
            out.append(name)
    return out


def expand(path: str) -> list[str]:
    """`services/dev|qa|devops` -> the three paths."""
    head, _, last = path.rpartition("/")
    return [f"{head}/{alt}" for alt in last.split("|")]


def test_flow_names_event_types_at_all() -> None:
    assert len(set(event_like())) > 25  # the convention is in use, not vacuously true


def test_every_event_type_flow_names_is_in_the_catalog() -> None:
    assert unknown_names(FLOW) == []


def test_a_name_outside_the_catalog_is_caught() -> None:
    assert unknown_names("then `qa.skipped` and `policy.speed`, after `task.started`") == [
        "qa.skipped", "policy.speed"]


def test_every_path_flow_cites_exists() -> None:
    cited = [p for found in PATH.findall(FLOW) for p in expand(found)]
    assert len(cited) >= 8
    assert [p for p in cited if not (ROOT / p).exists()] == []


def test_every_function_flow_cites_exists() -> None:
    calls = [re.match(r"([\w.]+)\.(\w+)\(", t) for t in TICKED]  # `package.module.function(...)` too
    found = [(m.group(1), m.group(2)) for m in calls if m]
    assert found  # envelope.follow(...) at least
    missing = [f"{mod}.{fn}" for mod, fn in found if not callable(getattr(_module(mod), fn, None))]
    assert missing == []


def _module(name: str) -> object:
    """`orchestrator.<layer>.<name>` in whichever layer holds it (None when none does)."""
    for layer in ("core", "adapters", "shell", "entrypoints"):
        try:
            found = importlib.util.find_spec(f"orchestrator.{layer}.{name}")
        except ModuleNotFoundError:  # a dotted name whose package is not in this layer
            continue
        if found:
            return importlib.import_module(f"orchestrator.{layer}.{name}")
    return None


def test_every_alert_kind_flow_names_is_an_alert_kind() -> None:
    named = re.findall(r"`monitor\.alert`\s*\(?`(\w+)`", FLOW) + re.findall(r"->\s*`(\w+_\w+)`\.", FLOW)
    assert len(named) >= 4
    assert sorted(set(named) - {k.value for k in AlertKind}) == []


def fields_and_kinds() -> set[str]:
    records = [c for c in vars(events).values() if dataclasses.is_dataclass(c)] + [Event]
    return {f.name for c in records for f in dataclasses.fields(c)} | {k.value for k in AlertKind}


def test_every_snake_case_name_flow_uses_is_a_field_or_an_alert_kind() -> None:
    named = {t for t in TICKED if re.fullmatch(r"[a-z]+(?:_[a-z]+)+", t)}
    assert len(named) >= 8
    assert sorted(named - fields_and_kinds()) == []


def sections() -> list[tuple[list[str], str]]:
    """(the decider files a heading cites, the section's text) per `## ` section."""
    out = []
    for part in re.split(r"^## ", FLOW, flags=re.M)[1:]:
        heading, _, body = part.partition("\n")
        cited = [p for found in re.findall(r"`(services/[\w|]+)`", heading) for p in expand(found)]
        out.append(([f"{p}/decider.py" for p in cited], body))
    return out


def test_every_bare_function_flow_cites_is_in_its_sections_deciders() -> None:
    checked = 0
    for deciders, body in sections():
        for name in re.findall(r"`([a-z_]\w*)\(", body):
            for path in deciders:
                tree = ast.parse((ROOT / path).read_text())
                assert name in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}, (path, name)
                checked += 1
    assert checked >= 3  # the workers' `finish`


DECIDERS = sorted((ROOT / "services").glob("*/decider.py"))


@pytest.mark.parametrize("decider", DECIDERS, ids=lambda p: p.parent.name)
def test_a_deciders_pointers_name_functions_that_exist(decider: Path) -> None:
    doc = ast.get_docstring(ast.parse(decider.read_text())) or ""
    for group in re.findall(r"\(([^()]*)\)", doc.replace("\n", " ")):
        target = re.match(r"\s*(services/\w+/\w+\.py)", group)
        if target is None:
            continue
        tree = ast.parse((ROOT / target.group(1)).read_text())
        defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        named = re.findall(r"`(\w+)`", group)
        assert sorted(set(named) - defined) == [], f"{decider}: {group}"
