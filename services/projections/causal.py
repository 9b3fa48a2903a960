"""The causal tree of one submission (pure): each event under the event that caused it.

Built from the request's events as the read model holds them. An event whose cause is not
among them (the submission itself, or a cause outside the request) is a root. Children keep
log order. Built without recursion, so a long chain of causes cannot exhaust the stack.
"""

from __future__ import annotations

from typing import Any

import orjson

Node = dict[str, Any]


def tree(rows: list[dict[str, Any]]) -> list[Node]:
    """The roots, each node `{event_id, type, occurred_at, actor, task_id, children}`."""
    nodes: dict[str, Node] = {}
    for row in rows:
        if row["event_id"] in nodes:
            continue
        nodes[row["event_id"]] = {
            "event_id": row["event_id"], "type": row["type"], "occurred_at": row["occurred_at"],
            "actor": "/".join(p for p in (row.get("actor_role"), row.get("actor_instance")) if p),
            "task_id": (row.get("payload") or {}).get("task_id"), "causation_id": row.get("causation_id"),
            "children": []}
    roots: list[Node] = []
    for node in nodes.values():
        parent = nodes.get(node["causation_id"] or "")
        (parent["children"] if parent is not None and parent is not node else roots).append(node)
    return roots


def size(roots: list[Node]) -> tuple[int, int]:
    """(nodes, depth) of a forest."""
    count, depth, todo = 0, 0, [(r, 1) for r in roots]
    while todo:
        node, level = todo.pop()
        count, depth = count + 1, max(depth, level)
        todo.extend((c, level + 1) for c in node["children"])
    return count, depth


def dumps(roots: list[Node]) -> bytes:
    """The forest as JSON, written without recursion (JSON encoders stop at a few hundred
    levels; a submission's chain of causes can be deeper)."""
    parts: list[bytes] = [b"["]
    stack: list[bytes | Node] = [b"]"]

    def push(nodes: list[Node]) -> None:
        for i, node in enumerate(reversed(nodes)):
            if i:
                stack.append(b",")
            stack.append(node)

    push(roots)
    while stack:
        item = stack.pop()
        if isinstance(item, bytes):
            parts.append(item)
            continue
        head = {k: v for k, v in item.items() if k != "children"}
        parts.append(orjson.dumps(head)[:-1] + b',"children":[')
        stack.append(b"]}")
        push(item["children"])
    return b"".join(parts)
