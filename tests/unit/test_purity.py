"""Every actor's rules are pure: no decider reaches, however indirectly, a module that does I/O.

The import closure of each `services/<actor>/decider.py` is followed through the
project's own modules (by reading their imports, without running them); no module in it
may import a client, a clock, randomness, processes, threads or the network.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

from orchestrator.core.actors import ACTORS

REPO = Path(__file__).resolve().parents[2]
OURS = ("orchestrator", "services")
IMPURE = {
    "confluent_kafka", "psycopg", "psycopg_pool", "fsspec", "s3fs", "httpx", "requests", "urllib",
    "socket", "asyncio", "threading", "subprocess", "multiprocessing", "time", "random", "secrets",
    "os", "shutil", "tempfile", "signal", "fastapi", "uvicorn", "prometheus_client",
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}  # `from pkg import module`
    return names


def closure(module: str) -> tuple[set[str], set[str]]:
    """(our modules reached, the outside modules they import) from `module`."""
    seen: set[str] = set()
    outside: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        try:
            spec = importlib.util.find_spec(name)
        except ModuleNotFoundError:  # `from module import name`: a name, not a module
            continue
        if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
            continue
        seen.add(name)
        parents = [".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)]
        for imported in _imports(Path(spec.origin)) | set(parents):
            if imported.split(".")[0] in OURS:
                if imported not in seen:
                    todo.append(imported)
            else:
                outside.add(imported.split(".")[0])
    return seen, outside


@pytest.mark.parametrize("actor", ACTORS)
def test_the_decider_reaches_no_impure_module(actor: str) -> None:
    reached, outside = closure(f"services.{actor}.decider")
    assert f"services.{actor}.decider" in reached
    assert outside & IMPURE == set(), f"{actor} reaches {sorted(outside & IMPURE)} via {sorted(reached)}"


def test_the_check_sees_an_impure_import() -> None:
    _, outside = closure("orchestrator.shell.loop")  # the shell is the impure side, by design
    assert {"confluent_kafka", "time"} <= outside
