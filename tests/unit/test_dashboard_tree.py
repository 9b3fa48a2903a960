"""The causal tree as HTML: nested as caused, every value escaped, no recursion."""

from __future__ import annotations

from services.projections import causal
from services.projections.api import tree


def _row(event_id: str, cause: str | None, type_: str = "task.started") -> dict[str, object]:
    return {"event_id": event_id, "type": type_, "occurred_at": "2026-01-01T00:00:00+00:00",
            "actor_role": "dev", "actor_instance": "w1", "causation_id": cause,
            "payload": {"task_id": "p/backend/dev/FR-1"}, "artifacts": []}


def test_each_event_nests_under_its_cause_with_its_artifacts_digests() -> None:
    rows = [_row("a", None, "project.created"), _row("b", "a"), _row("c", "b")]
    rows[2]["artifacts"] = [{"name": "qa-report.json", "sha256": "ab" * 32, "uri": "file:///x"}]
    html = str(tree.html(causal.tree(rows), {str(r["event_id"]): r for r in rows}, "/ui"))
    assert html.index('id="n-a"') < html.index('id="n-b"') < html.index('id="n-c"')
    assert html.endswith("</details></details></details>")
    assert f'<code class="digest">{"ab" * 32}</code>' in html
    assert 'href="/ui/tasks/p/backend/dev/FR-1"' in html


def test_a_hostile_value_is_escaped() -> None:
    rows = [_row("<script>x</script>", None, '"><img src=x onerror=alert(1)>')]
    html = str(tree.html(causal.tree(rows), {}, "/ui"))
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html


def test_a_chain_deeper_than_the_recursion_limit_renders() -> None:
    rows = [_row("e0", None), *(_row(f"e{i}", f"e{i - 1}") for i in range(1, 5000))]
    html = str(tree.html(causal.tree(rows), {}, "/ui"))
    assert html.count("<details") == 5000 == html.count("</details>")
