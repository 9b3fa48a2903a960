"""The layers the folder tree shows are the layers the imports keep.

core (pure domain) <- adapters (Kafka, PostgreSQL, executors, files) <- shell (the actor
runtime) <- entrypoints (commands, demo, the service runner). A module imports only its own
layer and those below; only entrypoints import `services.*`; and no project import hides
inside a function (the usual way to dodge a cycle), outside `if TYPE_CHECKING:`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LAYERS = ("core", "adapters", "shell", "entrypoints")


def _modules() -> list[Path]:
    return sorted(p for root in ("orchestrator", "services") for p in (REPO / root).rglob("*.py"))


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "services":
        return "services"
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def _imports(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return {name for name in found if name.split(".")[0] in ("orchestrator", "services")}


def _allowed(layer: str) -> set[str]:
    if layer == "services":
        return {"core", "adapters", "shell", "services"}
    return set(LAYERS[: LAYERS.index(layer) + 1]) | ({"services"} if layer == "entrypoints" else set())


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_a_module_imports_only_its_layer_and_those_below(path: Path) -> None:
    module = ".".join(path.relative_to(REPO).with_suffix("").parts)
    layer = _layer(module)
    if layer is None:  # the package roots themselves
        return
    wrong = {name for name in _imports(ast.parse(path.read_text()))
             if (_layer(name) or layer) not in _allowed(layer)}
    assert not wrong, f"{module} ({layer}) imports {sorted(wrong)}"


def _hidden_imports(tree: ast.AST) -> list[str]:
    hidden: list[str] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if in_function and isinstance(child, ast.Import | ast.ImportFrom) and _imports(child):
                hidden.append(f"line {child.lineno}: {ast.unparse(child)}")
            visit(child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef))

    visit(tree, False)
    return hidden


# the one deferred import, and why: not a cycle, a cost paid only by those who use it
DEFERRED = {"orchestrator/adapters/tracing.py": "the OpenTelemetry SDK loads only when spans are exported"}


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_project_import_hides_in_a_function(path: Path) -> None:
    hidden = _hidden_imports(ast.parse(path.read_text()))
    assert hidden == [] or str(path.relative_to(REPO)) in DEFERRED, hidden


def test_the_checks_see_a_wrong_import_and_a_hidden_one() -> None:
    tree = ast.parse("import json\ndef f():\n    from orchestrator.core import events\n")
    assert _layer("orchestrator.shell.loop") not in _allowed("adapters")
    assert _hidden_imports(tree) == ["line 3: from orchestrator.core import events"]
