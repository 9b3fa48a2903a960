"""Module and function sizes of the non-test code (blank lines not counted).

`python scripts/sizes.py [--over N]`: median, p90 and max module size under
orchestrator/ and services/, the biggest modules, and the functions longer than N lines.
"""

from __future__ import annotations

import ast
import statistics
import sys
from pathlib import Path

ROOTS = ("orchestrator", "services")


def nonblank(lines: list[str]) -> int:
    return sum(1 for line in lines if line.strip())


def main(argv: list[str]) -> int:
    over = int(argv[argv.index("--over") + 1]) if "--over" in argv else 60
    sizes: dict[str, int] = {}
    long_functions: list[tuple[int, str]] = []
    for root in ROOTS:
        for path in sorted(Path(root).rglob("*.py")):
            lines = path.read_text().splitlines()
            sizes[str(path)] = nonblank(lines)
            for node in ast.walk(ast.parse("\n".join(lines))):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    body = lines[node.lineno - 1 : node.end_lineno]
                    if nonblank(body) > over:
                        long_functions.append((nonblank(body), f"{path}:{node.lineno} {node.name}"))
    values = sorted(sizes.values())
    p90 = values[min(len(values) - 1, int(0.9 * len(values)))]
    print(f"modules {len(values)}  median {statistics.median(values):.0f}  p90 {p90}  max {values[-1]}")
    print("biggest:")
    for path, size in sorted(sizes.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {size:5d} {path}")
    print(f"functions over {over} lines: {len(long_functions)}")
    for size, where in sorted(long_functions, reverse=True):
        print(f"  {size:5d} {where}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
