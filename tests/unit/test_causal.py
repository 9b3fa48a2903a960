"""The causal tree: events under their causes, roots for unknown causes, log order kept."""

from __future__ import annotations

import orjson

from services.projections.causal import dumps, size, tree


def row(n: int, cause: int | None, type_: str = "task.started") -> dict:
    return {"event_id": f"e{n}", "type": type_, "occurred_at": n, "actor_role": "dev",
            "actor_instance": "w1", "causation_id": None if cause is None else f"e{cause}",
            "payload": {"task_id": f"t{n}"}}


def test_events_hang_under_their_cause_in_log_order() -> None:
    [root] = tree([row(0, None, "spec.submitted"), row(1, 0), row(2, 1), row(3, 0), row(2, 1)])
    assert root["event_id"] == "e0" and [c["event_id"] for c in root["children"]] == ["e1", "e3"]
    assert root["children"][0]["children"][0]["event_id"] == "e2"
    assert root["actor"] == "dev/w1" and root["children"][1]["task_id"] == "t3"
    assert size([root]) == (4, 3)


def test_an_event_whose_cause_is_elsewhere_is_a_root() -> None:
    roots = tree([row(1, 99), row(2, 1), row(3, None)])
    assert [r["event_id"] for r in roots] == ["e1", "e3"] and size(roots) == (3, 2)


def test_a_chain_deeper_than_the_stack_builds_and_writes_as_json() -> None:
    rows = [row(0, None)] + [row(n, n - 1) for n in range(1, 5000)]
    roots = tree(rows)
    assert size(roots) == (5000, 5000)
    text = dumps(roots)
    assert text.count(b'"children":[') == 5000 and text.endswith(b"]}" * 5000 + b"]")


def test_the_json_reads_back_as_the_tree() -> None:
    roots = tree([row(0, None, "spec.submitted"), row(1, 0), row(2, 1), row(3, 0), row(4, None)])
    assert orjson.loads(dumps(roots)) == roots and orjson.loads(dumps([])) == []
