"""The spec document's shape (apiVersion, project, modules, policy, executors), strict:
unknown keys and wrong types are errors. The class names keep their underscore: pydantic
names them in errors ("instance of _Module"), and a rejection reads as it always has."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictStr,
    StringConstraints,
    Tag,
)

from orchestrator.core.actors import AREAS
from services.spec.fields import Area, StrictModel, Text
from services.spec.policy_doc import _Policy

ONE, PER_AREA = "<executor>", "<per-area>"  # union tags, dropped from error paths


class _Requirement(StrictModel):
    id: Annotated[StrictStr, StringConstraints(pattern=r"^(FR|NFR)-[0-9]+$")]
    title: Text
    acceptance: list[StrictStr] = []


class _Module(StrictModel):
    area: Area
    requirements: Annotated[list[_Requirement], Field(min_length=1)]


def _option_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise ValueError("an executor option must be a string, number or boolean")


class _Executor(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True, frozen=True)
    __pydantic_extra__: dict[str, Annotated[str, BeforeValidator(_option_text)]]

    kind: Literal["simulated", "command", "http", "manual", "llm"]


def _executor_shape(value: Any) -> str:
    per_area = isinstance(value, dict) and value and all(k in AREAS for k in value)
    return PER_AREA if per_area else ONE


ExecutorChoice = Annotated[
    Annotated[_Executor, Tag(ONE)] | Annotated[dict[Area, _Executor], Tag(PER_AREA)],
    Discriminator(_executor_shape),
]


class _Executors(StrictModel):
    dev: ExecutorChoice | None = None
    qa: ExecutorChoice | None = None
    devops: ExecutorChoice | None = None


class _Spec(StrictModel):
    apiVersion: Literal["orchestrator/v1"]
    kind: Literal["Spec"]
    project: Text
    description: StrictStr = ""
    modules: Annotated[list[_Module], Field(min_length=1)]
    policy: _Policy = _Policy()
    executors: _Executors = _Executors()
