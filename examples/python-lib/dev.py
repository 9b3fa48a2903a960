"""Dev of the python-lib example: writes the module of its requirement into the project.

Run by the `command` executor (cwd = the task's workspace; context in ORCH_* variables).
The project's shared directory (`ORCH_PROJECT_DIR`) holds the library `textkit` as a
src-layout package; every requirement is one module. Round 0 of FR-2 ships a bug
(`split(" ")` counts the empty strings between repeated spaces); QA catches it and the
rework (round >= 1) ships the fix. A copy of what was written is left in the workspace
(`written/`), which the spec declares as artifacts.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PYPROJECT = """\
[build-system]
requires = ["setuptools>=61", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "textkit"
version = "0.1.0"
description = "Small text utilities, delivered by the orchestrator's python-lib example"
requires-python = ">=3.9"

[tool.setuptools.packages.find]
where = ["src"]
"""

INIT = '''\
"""textkit: every module's public names, re-exported."""

import importlib
import pkgutil

__all__: list[str] = []
for _info in pkgutil.iter_modules(__path__):
    _module = importlib.import_module(f"{__name__}.{_info.name}")
    for _name in getattr(_module, "__all__", ()):
        globals()[_name] = getattr(_module, _name)
        __all__.append(_name)
'''

SLUGIFY = '''\
import re

__all__ = ["slugify"]


def slugify(text: str) -> str:
    """'Hello, World!' -> 'hello-world'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
'''

WORD_COUNT_BUGGY = '''\
__all__ = ["word_count"]


def word_count(text: str) -> int:
    """The number of words in `text`."""
    return len([w for w in text.strip().split(" ")])
'''

WORD_COUNT = '''\
__all__ = ["word_count"]


def word_count(text: str) -> int:
    """The number of words in `text`."""
    return len(text.split())
'''

MODULES = {  # requirement -> (module, source for round 0, source for rework rounds)
    "FR-1": ("slug", SLUGIFY, SLUGIFY),
    "FR-2": ("words", WORD_COUNT_BUGGY, WORD_COUNT),
}


def write(path: Path, text: str) -> None:
    """Atomically: dev tasks of one project run at once and QA may import meanwhile."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text)
    tmp.replace(path)


def main() -> int:
    project = Path(os.environ["ORCH_PROJECT_DIR"])
    round_ = int(os.environ["ORCH_ROUND"])
    requirements = [r for r in os.environ["ORCH_REQUIREMENTS"].split(",") if r]
    write(project / "pyproject.toml", PYPROJECT)
    write(project / "src" / "textkit" / "__init__.py", INIT)
    for requirement in requirements:
        if requirement not in MODULES:
            print(f"no implementation known for {requirement}", file=sys.stderr)
            return 2
        module, first, rework = MODULES[requirement]
        source = first if round_ == 0 else rework
        write(project / "src" / "textkit" / f"{module}.py", source)
        write(Path("written") / f"{module}.py", source)
        print(f"{requirement}: wrote textkit/{module}.py (round {round_})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
