"""The causal tree as nested `<details>`, written without recursion (`causal.dumps` says why)."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

from services.projections.causal import Node


def _head(node: Node, event: dict[str, Any], prefix: str) -> str:
    task = node.get("task_id")
    link = f' <a href="{prefix}/tasks/{escape(task)}">{escape(task)}</a>' if task else ""
    refs = "".join(
        f'<li class="artifact"><span class="name" title="{escape(a.get("uri"))}">{escape(a.get("name"))}'
        f'</span> sha256 <code class="digest">{escape(a.get("sha256"))}</code></li>'
        for a in event.get("artifacts") or [])
    return (f'<summary><span class="type">{escape(node["type"])}</span> '
            f'<span class="actor">{escape(node["actor"])}</span> '
            f'<time>{escape(node["occurred_at"])}</time>{link}</summary>'
            + (f'<ul class="artifacts">{refs}</ul>' if refs else ""))


def html(roots: list[Node], events: dict[str, dict[str, Any]], prefix: str) -> Markup:
    parts: list[str] = []
    stack: list[str | Node] = list(reversed(roots))
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
            continue
        event = events.get(item["event_id"], {})
        parts.append(f'<details open class="node" id="n-{escape(item["event_id"])}" '
                     f'data-type="{escape(item["type"])}">' + _head(item, event, prefix))
        stack.append("</details>")
        stack.extend(reversed(item["children"]))
    return Markup("".join(parts))  # nosec B704 - every value joined above went through escape()
