"""The Avro schemas in `schemas/`: loading, fingerprints, shipped history, and the gate.

`schemas/envelope.avsc` names its parts; `schemas/types` and `schemas/events` define them.
`schemas/history/` keeps every shipped version fully expanded: the codec reads data
written by any of them, and `check()` proves the current one still can (backward-transitive).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form

SCHEMA_DIR = Path(os.environ.get("ORCH_SCHEMA_DIR") or Path(__file__).resolve().parents[2] / "schemas")
PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


def _expand(node: Any, named: dict[str, Any], seen: set[str]) -> Any:
    """Inline named references: the first use carries the definition, later uses the name."""
    if isinstance(node, str):
        if node in PRIMITIVES or node in seen:
            return node
        if node not in named:
            raise ValueError(f"unknown Avro type {node!r}")
        return _expand(named[node], named, seen)
    if isinstance(node, list):
        return [_expand(branch, named, seen) for branch in node]
    if not isinstance(node, dict):
        return node
    kind = node.get("type")
    if kind in ("record", "enum", "fixed"):
        full = f"{node['namespace']}.{node['name']}" if "namespace" in node else node["name"]
        seen.add(full)
    out = dict(node)
    if kind == "record":
        out["fields"] = [{**f, "type": _expand(f["type"], named, seen)} for f in node["fields"]]
    elif kind == "array":
        out["items"] = _expand(node["items"], named, seen)
    elif kind == "map":
        out["values"] = _expand(node["values"], named, seen)
    elif kind not in ("enum", "fixed") and not (isinstance(kind, str) and kind in PRIMITIVES):
        out["type"] = _expand(kind, named, seen)
    return out


def load_current(root: Path = SCHEMA_DIR) -> dict[str, Any]:
    """The current envelope schema, every named type inlined."""
    named: dict[str, Any] = {}
    for path in sorted([*root.glob("types/*.avsc"), *root.glob("events/*.avsc")]):
        node = json.loads(path.read_text())
        named[f"{node['namespace']}.{node['name']}"] = node
    envelope = json.loads((root / "envelope.avsc").read_text())
    return dict(_expand(envelope, named, set()))


def fingerprint_of(schema: dict[str, Any]) -> bytes:
    """CRC-64-AVRO of the parsing canonical form, as the 8 little-endian bytes on the wire."""
    canonical = to_parsing_canonical_form(parse_schema(schema, _write_hint=False))
    return bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))  # fastavro gives wire order


def load_history(root: Path = SCHEMA_DIR) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((root / "history").glob("*.json"))]


@dataclass(frozen=True)
class Problem:
    version: str
    message: str


def check(root: Path = SCHEMA_DIR) -> list[Problem]:
    """Every shipped version must be readable by the current schema; the current one shipped."""
    import avro.schema

    current = load_current(root)
    reader = avro.schema.parse(json.dumps(current))
    problems: list[Problem] = []
    shipped = sorted((root / "history").glob("*.json"))
    for path in shipped:
        writer = avro.schema.parse(path.read_text())
        problems += [Problem(path.stem, m) for m in _incompatibilities(reader, writer)]
    fingerprints = {fingerprint_of(json.loads(p.read_text())) for p in shipped}
    if fingerprint_of(current) not in fingerprints:
        problems.append(Problem("current", "not in schemas/history: run `orchestrator schemas freeze`"))
    return problems


def _incompatibilities(reader: Any, writer: Any) -> list[str]:
    """Reasons `reader` cannot read `writer`'s data, named by event record where possible."""
    from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

    def compare(r: Any, w: Any, where: str) -> list[str]:
        result = ReaderWriterCompatibilityChecker().get_compatibility(r, w)
        if result.compatibility is SchemaCompatibilityType.compatible:
            return []
        found = zip(result.messages, result.locations, strict=False)
        return [f"{where}{loc}: {msg}" for msg, loc in found] or [f"{where}: incompatible"]

    payload = {f.name: f for f in writer.fields}.get("payload")
    readers = {f.name: f for f in reader.fields}.get("payload")
    if payload is None or readers is None:
        return compare(reader, writer, "envelope")
    problems: list[str] = []
    by_name = {s.fullname: s for s in readers.type.schemas}
    for branch in payload.type.schemas:
        if branch.fullname not in by_name:
            problems.append(f"event record {branch.fullname} was removed")
            continue
        problems += _record_problems(by_name[branch.fullname], branch, compare)
    if not problems:  # the envelope outside the payload
        problems = compare(reader, writer, "envelope")
    return problems


def _record_problems(reader: Any, writer: Any, compare: Any) -> list[str]:
    problems = compare(reader, writer, f"{writer.fullname}")
    if not problems:
        return []
    written = {f.name for f in writer.fields}
    named = [f"{writer.fullname}.{f.name}: reader field has no default and old data lacks it"
             for f in reader.fields if f.name not in written and not f.has_default]
    return named or problems


def freeze(root: Path = SCHEMA_DIR) -> Path | None:
    """Record the current schema as a shipped version; None when it is already recorded."""
    current = load_current(root)
    history = root / "history"
    history.mkdir(exist_ok=True)
    if fingerprint_of(current) in {fingerprint_of(s) for s in load_history(root)}:
        return None
    path = history / f"v{len(list(history.glob('*.json'))) + 1:04d}.json"
    path.write_text(json.dumps(current, indent=1) + "\n")
    return path


@cache
def writer_schemas() -> dict[bytes, Any]:
    """Every schema version ever shipped, parsed, by wire fingerprint."""
    found = {fingerprint_of(s): parse_schema(s) for s in load_history()}
    current = load_current()
    found[fingerprint_of(current)] = parse_schema(current)
    return found
