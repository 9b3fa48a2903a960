"""The spec document: strict parsing, every error with its path, hostile input refused."""

from __future__ import annotations

import time
import typing
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.core import actors
from orchestrator.core.durations import parse_duration
from orchestrator.core.events import Approval, Executor, ProjectCreated, Role, SpecError
from services.spec import fields, specdoc

SPECS = Path(__file__).resolve().parents[2] / "examples" / "specs"

VALID = b"""
apiVersion: orchestrator/v1
kind: Spec
project: Shop
modules:
  - area: backend
    requirements:
      - {id: FR-1, title: Users register}
"""


def errors_of(document: bytes) -> list[SpecError]:
    result = specdoc.parse(document)
    assert isinstance(result, list), f"expected errors, got {result}"
    assert result, "a rejection names at least one error"
    return result


def test_the_shop_example_parses_into_three_modules() -> None:
    project = specdoc.parse((SPECS / "shop.yaml").read_bytes())
    assert isinstance(project, ProjectCreated)
    assert project.name == "Shop"
    assert [m.area for m in project.modules] == ["backend", "web", "mobile"]
    assert all(2 <= len(m.requirements) <= 3 for m in project.modules)
    assert project.policy.max_attempts == 3
    assert project.policy.qa_deadline_ms == 20_000
    assert project.policy.heartbeat_timeout_ms == 3_000
    qa = next(x for x in project.executors if x.role is Role.QA)
    assert qa == Executor(Role.QA, "simulated", None,
                          {"duration": "0s", "seed": "7", "fail_first": "FR-2"})


@pytest.mark.parametrize(
    ("filename", "path", "words"),
    [
        ("unknown_key.yaml", "modules[0].requirements[0].priority", "extra"),
        ("missing_key.yaml", "project", "required"),
        ("duplicate_ids.yaml", "modules[1].requirements[1].id", "duplicate"),
        ("empty_modules.yaml", "modules", "at least 1"),
        ("unknown_area.yaml", "modules[1].area", "backend"),
        ("wrong_type.yaml", "policy.max_attempts", "integer"),
        ("empty.yaml", "$", "empty"),
        ("binary.yaml", "$", "binary"),
        ("alias_bomb.yaml", "$", "alias"),
        ("bad_duration.yaml", "policy.deadlines.qa", "duration"),
    ],
)
def test_every_malformed_example_is_rejected_at_the_offending_path(
    filename: str, path: str, words: str
) -> None:
    errors = errors_of((SPECS / "bad" / filename).read_bytes())
    assert any(e.path == path and words in e.message.lower() for e in errors), errors


def test_every_bad_example_has_a_case() -> None:
    assert len(list((SPECS / "bad").iterdir())) == 10


def test_an_alias_bomb_is_refused_before_anything_expands() -> None:
    started = time.perf_counter()
    errors = errors_of((SPECS / "bad" / "alias_bomb.yaml").read_bytes())
    assert time.perf_counter() - started < 1.0
    assert [e.path for e in errors] == ["$"]


def test_a_single_alias_is_refused_too() -> None:
    errors = errors_of(VALID + b"description: &d x\nx: *d\n")
    assert "alias" in errors[0].message


def test_an_oversized_document_is_rejected_before_parsing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_parsing(*_: object, **__: object) -> None:
        raise AssertionError("parsed an oversized document")

    monkeypatch.setattr(specdoc.yaml, "load", no_parsing)
    errors = errors_of(b"[" * (2 * 1024 * 1024))
    assert errors == [errors[0]] and errors[0].path == "$"
    assert "limit" in errors[0].message


def test_the_size_limit_is_configurable() -> None:
    assert isinstance(specdoc.parse(VALID, max_bytes=len(VALID)), ProjectCreated)
    assert "limit" in errors_of_limit(VALID, len(VALID) - 1)


def errors_of_limit(document: bytes, limit: int) -> str:
    result = specdoc.parse(document, max_bytes=limit)
    assert isinstance(result, list)
    return result[0].message


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (b"   \n\n", "empty"),
        (b"project: caf\xe9\n", "utf-8"),
        (b"key: [unclosed\n", "yaml"),
        (b"- a list\n- not a mapping\n", "mapping"),
        (b"just a string", "mapping"),
        (VALID + b"project: Twice\n", "duplicate key"),
        (b"a: 1\n---\nb: 2\n", "yaml"),
        (b"[" * 50_000, "yaml"),
    ],
)
def test_unreadable_documents_are_rejected_at_the_root(document: bytes, words: str) -> None:
    errors = errors_of(document)
    assert errors[0].path == "$" and words in errors[0].message.lower(), errors


def test_every_error_is_reported_not_just_the_first() -> None:
    document = b"""
apiVersion: orchestrator/v2
kind: Spec
project: ""
modules:
  - area: backend
    requirements:
      - {id: FR-1, title: One}
      - {id: X-2, title: ""}
  - area: web
    requirements:
      - {id: FR-1, title: Again}
  - area: web
    requirements: []
policy: {max_attempts: 11, deadlines: {dev: 0s}, heartbeat_timeout: 3 seconds}
executors:
  dev: {kind: robot}
  qa: {mobile: {kind: http, url: [x]}}
  ops: {kind: manual}
"""
    paths = {e.path for e in errors_of(document)}
    assert paths >= {
        "apiVersion", "project", "modules[0].requirements[1].id",
        "modules[0].requirements[1].title", "modules[1].requirements[0].id",
        "modules[2].area", "modules[2].requirements", "policy.max_attempts",
        "policy.deadlines.dev", "policy.heartbeat_timeout", "executors.dev.kind",
        "executors.qa.mobile.url", "executors.ops",
    }


def test_json_is_accepted_and_executors_per_area_become_string_options() -> None:
    document = b"""{"apiVersion": "orchestrator/v1", "kind": "Spec", "project": "Shop",
      "modules": [{"area": "web", "requirements": [{"id": "NFR-7", "title": "Fast",
                   "acceptance": ["p99 < 200ms"]}]}],
      "policy": {"deadlines": {"dev": "500ms", "qa": "45s", "devops": "2h"}},
      "executors": {"dev": {"web": {"kind": "http", "url": "http://agent", "retries": 2,
                                    "verbose": true, "ratio": 0.5}},
                    "devops": {"kind": "command", "cmd": "make deploy"}}}"""
    project = specdoc.parse(document)
    assert isinstance(project, ProjectCreated)
    assert project.description == ""
    assert project.modules[0].requirements[0].acceptance == ("p99 < 200ms",)
    assert (project.policy.dev_deadline_ms, project.policy.qa_deadline_ms,
            project.policy.devops_deadline_ms) == (500, 45_000, 7_200_000)
    assert project.executors == (
        Executor(Role.DEV, "http", "web",
                 {"url": "http://agent", "retries": "2", "verbose": "true", "ratio": "0.5"}),
        Executor(Role.DEVOPS, "command", None, {"cmd": "make deploy"}),
    )


@pytest.mark.parametrize(("text", "ms"), [("500ms", 500), ("45s", 45_000),
                                          ("30m", 1_800_000), ("2h", 7_200_000)])
def test_durations_are_read_in_milliseconds(text: str, ms: int) -> None:
    assert parse_duration(text, strict=True) == ms


@pytest.mark.parametrize("text", ["1.5m", "2", " 2s", "2 s", "-1s", "1d"])
def test_the_spec_takes_only_an_integer_and_a_unit(text: str) -> None:
    with pytest.raises(ValueError, match="must look like 500ms, 45s, 30m or 2h"):
        parse_duration(text, strict=True)


def test_the_spec_area_type_names_the_areas_of_the_actor_list() -> None:
    assert typing.get_args(fields.Area) == actors.AREAS


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_parse_never_raises_on_arbitrary_input(document: bytes) -> None:
    result = specdoc.parse(document)
    assert isinstance(result, ProjectCreated | list)


def test_approvals_of_the_policy_become_gates_with_their_deadlines() -> None:
    document = VALID + b"policy:\n  approvals:\n    - {before: deployment_total, deadline: 2h}\n" \
        b"    - {before: dev}\n"
    project = specdoc.parse(document)
    assert isinstance(project, ProjectCreated)
    assert project.policy.approvals == (Approval("deployment_total", 2 * 3600 * 1000), Approval("dev"))


def test_an_approval_before_something_unknown_is_rejected_at_its_path() -> None:
    document = VALID + b"policy:\n  approvals:\n    - {before: lunch}\n"
    assert [e.path for e in errors_of(document)] == ["policy.approvals[0].before"]
