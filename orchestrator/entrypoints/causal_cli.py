"""`orchestrator trace REQUEST_ID`: the causal tree of one submission, every event under the
event that caused it, as JSON or as a tree drawn without recursion (a chain of causes is deep)."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.tree import Tree

from orchestrator.entrypoints.read_cli import database, fail
from services.projections import causal, views


def causal_tree(request_id: str, as_json: bool) -> None:
    with database() as conn:
        events, _, _ = views.request(conn, request_id)
    if not events:
        fail(f"no request {request_id}")
    roots = causal.tree(events)
    if as_json:
        typer.echo(b'{"request_id":' + json.dumps(request_id).encode() + b',"roots":'
                   + causal.dumps(roots) + b"}")
        return
    shown = Tree(f"causal tree of {request_id}")
    todo: list[tuple[Tree, dict[str, Any]]] = [(shown, r) for r in reversed(roots)]
    while todo:  # no recursion: a long chain of causes is deep
        parent, node = todo.pop()
        label = f"[bold]{node['type']}[/] {node['occurred_at']} {node['actor']}"
        branch = parent.add(label + (f" {node['task_id']}" if node["task_id"] else ""))
        todo.extend((branch, c) for c in reversed(node["children"]))
    Console().print(shown)
