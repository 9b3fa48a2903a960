"""The submitted spec document (DESIGN §9): strict parsing into a `ProjectCreated`.

`parse` never raises: every problem becomes a `SpecError` naming its path (`$` = the
whole document). Aliases and anchors are refused outright so nothing can expand.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictInt,
    StrictStr,
    StringConstraints,
    Tag,
    ValidationError,
    field_validator,
)

from orchestrator.core.events import (
    Approval,
    Budget,
    Budgets,
    Executor,
    Module,
    Policy,
    ProjectCreated,
    Requirement,
    Role,
    SpecError,
)

MAX_BYTES = 1024 * 1024

_DURATION = re.compile(r"^([0-9]+)(ms|s|m|h)$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}
_ONE, _PER_AREA = "<executor>", "<per-area>"  # union tags, dropped from error paths

Area = Literal["backend", "web", "mobile"]
_AREAS = ("backend", "web", "mobile")
Text = Annotated[str, StringConstraints(strict=True, strip_whitespace=True, min_length=1)]


def duration_ms(text: str) -> int:
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"duration must look like 500ms, 45s, 30m or 2h, not {text!r}")
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _positive_duration(value: str) -> str:
    if duration_ms(value) <= 0:
        raise ValueError("duration must be greater than zero")
    return value


class _Requirement(_Model):
    id: Annotated[StrictStr, StringConstraints(pattern=r"^(FR|NFR)-[0-9]+$")]
    title: Text
    acceptance: list[StrictStr] = []


class _Module(_Model):
    area: Area
    requirements: Annotated[list[_Requirement], Field(min_length=1)]


class _Deadlines(_Model):
    dev: StrictStr | None = None
    qa: StrictStr | None = None
    devops: StrictStr | None = None

    @field_validator("dev", "qa", "devops")
    @classmethod
    def _durations(cls, value: str | None) -> str | None:
        return None if value is None else _positive_duration(value)


class _Budget(_Model):
    tokens: Annotated[StrictInt, Field(ge=0)] = 0
    cost: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    time: StrictStr | None = None

    @field_validator("cost", mode="before")
    @classmethod
    def _number(cls, value: object) -> object:
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("time")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        return None if value is None else _positive_duration(value)

    def limits(self) -> Budget:
        return Budget(self.tokens, self.cost, _ms(self.time, 0) / 1000)


class _Budgets(_Model):
    warn_at: Annotated[float, Field(gt=0, le=1)] = 0.8
    task: _Budget = _Budget()
    module: _Budget = _Budget()

    @field_validator("warn_at", mode="before")
    @classmethod
    def _share(cls, value: object) -> object:
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


class _Approval(_Model):
    before: Literal["dev", "qa", "devops", "deployment_partial", "deployment_total"]
    deadline: StrictStr | None = None

    @field_validator("deadline")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        return None if value is None else _positive_duration(value)


class _Policy(_Model):
    max_attempts: Annotated[StrictInt, Field(ge=1, le=10)] = 3
    deadlines: _Deadlines = _Deadlines()
    heartbeat_timeout: StrictStr | None = None
    budgets: _Budgets = _Budgets()
    approvals: list[_Approval] = []

    @field_validator("heartbeat_timeout")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        return None if value is None else _positive_duration(value)


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
    per_area = isinstance(value, dict) and value and all(k in _AREAS for k in value)
    return _PER_AREA if per_area else _ONE


ExecutorChoice = Annotated[
    Annotated[_Executor, Tag(_ONE)] | Annotated[dict[Area, _Executor], Tag(_PER_AREA)],
    Discriminator(_executor_shape),
]


class _Executors(_Model):
    dev: ExecutorChoice | None = None
    qa: ExecutorChoice | None = None
    devops: ExecutorChoice | None = None


class _Spec(_Model):
    apiVersion: Literal["orchestrator/v1"]
    kind: Literal["Spec"]
    project: Text
    description: StrictStr = ""
    modules: Annotated[list[_Module], Field(min_length=1)]
    policy: _Policy = _Policy()
    executors: _Executors = _Executors()


class _Refused(yaml.YAMLError):
    pass


class _StrictLoader(yaml.SafeLoader):
    """A SafeLoader that refuses anchors, aliases and duplicate keys."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused(f"YAML anchors and aliases are not allowed ({event.start_mark})")
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        keys = [self.construct_object(k, deep=deep) for k, _ in node.value]
        for i, key in enumerate(keys):
            if isinstance(key, str | int | float | bool) and key in keys[:i]:
                raise _Refused(f"duplicate key {key!r} ({node.start_mark})")
        return super().construct_mapping(node, deep=deep)


def parse(document: bytes, max_bytes: int = MAX_BYTES) -> ProjectCreated | list[SpecError]:
    """The project a spec document describes, or every error found in it."""
    if len(document) > max_bytes:
        return [_root(f"document is {len(document)} bytes, over the limit of {max_bytes}")]
    if not document.strip():
        return [_root("empty document")]
    if b"\x00" in document:
        return [_root("binary content: the document must be UTF-8 YAML or JSON text")]
    try:
        text = document.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [_root(f"not UTF-8 text: {exc.reason} at byte {exc.start}")]
    try:
        data = yaml.load(text, Loader=_StrictLoader)
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        return [_root(f"not valid YAML or JSON: {exc}")]
    if not isinstance(data, dict):
        return [_root(f"the document must be a mapping, not {type(data).__name__}")]
    errors = _duplicates(data)
    try:
        spec = _Spec.model_validate(data)
    except ValidationError as exc:
        return _from_pydantic(exc) + errors
    return errors or _project(spec)


def _root(message: str) -> SpecError:
    return SpecError("$", message)


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if part in (_ONE, _PER_AREA, "[key]"):
            continue
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out or "$"


def _from_pydantic(exc: ValidationError) -> list[SpecError]:
    errors = []
    for err in exc.errors(include_url=False):
        message = str(err["msg"]).removeprefix("Value error, ")
        errors.append(SpecError(_path(err["loc"]), message))
    return errors


def _duplicates(data: dict[Any, Any]) -> list[SpecError]:
    """Duplicate areas and requirement ids, found on the raw data so that they are
    reported together with the schema errors."""
    errors: list[SpecError] = []
    areas: dict[str, str] = {}
    ids: dict[str, str] = {}
    modules = data.get("modules")
    for i, module in enumerate(modules if isinstance(modules, list) else []):
        if not isinstance(module, dict):
            continue
        area = module.get("area")
        if isinstance(area, str):
            if area in areas:
                errors.append(SpecError(f"modules[{i}].area", f"duplicate area {area!r} "
                                        f"(first at {areas[area]})"))
            areas.setdefault(area, f"modules[{i}].area")
        reqs = module.get("requirements")
        for j, req in enumerate(reqs if isinstance(reqs, list) else []):
            rid = req.get("id") if isinstance(req, dict) else None
            if isinstance(rid, str):
                path = f"modules[{i}].requirements[{j}].id"
                if rid in ids:
                    errors.append(SpecError(path, f"duplicate requirement id {rid!r} "
                                            f"(first at {ids[rid]})"))
                ids.setdefault(rid, path)
    return errors


def _project(spec: _Spec) -> ProjectCreated:
    deadlines, budgets = spec.policy.deadlines, spec.policy.budgets
    defaults = Policy()
    policy = Policy(
        max_attempts=spec.policy.max_attempts,
        dev_deadline_ms=_ms(deadlines.dev, defaults.dev_deadline_ms),
        qa_deadline_ms=_ms(deadlines.qa, defaults.qa_deadline_ms),
        devops_deadline_ms=_ms(deadlines.devops, defaults.devops_deadline_ms),
        heartbeat_timeout_ms=_ms(spec.policy.heartbeat_timeout, defaults.heartbeat_timeout_ms),
        budgets=Budgets(budgets.warn_at, budgets.task.limits(), budgets.module.limits()),
        approvals=tuple(Approval(a.before, _ms(a.deadline, Approval("").deadline_ms))
                        for a in spec.policy.approvals),
    )
    modules = tuple(
        Module(m.area, tuple(Requirement(r.id, r.title, tuple(r.acceptance))
                             for r in m.requirements))
        for m in spec.modules
    )
    return ProjectCreated(spec.project, spec.description, modules, policy,
                          _executors(spec.executors))


def _ms(text: str | None, default: int) -> int:
    return default if text is None else duration_ms(text)


def _executors(executors: _Executors) -> tuple[Executor, ...]:
    out: list[Executor] = []
    for role in (Role.DEV, Role.QA, Role.DEVOPS):
        choice = getattr(executors, role.value)
        if isinstance(choice, _Executor):
            out.append(_executor(role, None, choice))
        elif isinstance(choice, dict):
            out.extend(_executor(role, area, one) for area, one in choice.items())
    return tuple(out)


def _executor(role: Role, area: str | None, spec: _Executor) -> Executor:
    options = dict(spec.__pydantic_extra__ or {})
    return Executor(role=role, kind=spec.kind, area=area, options=options)
