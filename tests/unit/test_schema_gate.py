"""The schema evolution gate: the real schemas pass, an incompatible edit fails by name."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from orchestrator.core import schemas


def test_the_shipped_schemas_pass_the_backward_transitive_gate() -> None:
    assert schemas.check() == []


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "schemas"
    shutil.copytree(schemas.SCHEMA_DIR, root)
    return root


def test_removing_a_default_from_a_new_field_fails_with_the_field_and_reason(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    fixture = Path(__file__).parent.parent / "fixtures" / "schemas" / "task.assigned.incompatible.avsc"
    shutil.copy(fixture, root / "events" / "task.assigned.avsc")
    problems = schemas.check(root)
    assert problems, "an added field without a default must be refused"
    text = " ".join(p.message for p in problems)
    assert "priority" in text
    assert any(p.version == "v0001" for p in problems)


def test_adding_a_field_with_a_default_passes_once_frozen(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    path = root / "events" / "task.assigned.avsc"
    record = json.loads(path.read_text())
    record["fields"].append({"name": "priority", "type": "int", "default": 0})
    path.write_text(json.dumps(record))
    assert [p.version for p in schemas.check(root)] == ["current"]  # compatible, not yet shipped
    assert schemas.freeze(root) is not None
    assert schemas.check(root) == []
