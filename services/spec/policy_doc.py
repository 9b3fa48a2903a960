"""The `policy:` section's shape: attempts, deadlines, budgets and approvals, each duration
checked where it is written. The class names keep their underscore: pydantic names them in
errors ("instance of _Policy"), and a rejection reads as it always has."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictInt, StrictStr, field_validator

from orchestrator.core.events import Budget
from services.spec.fields import StrictModel, ms, positive_duration


def _float(value: object) -> object:
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


class _Deadlines(StrictModel):
    dev: StrictStr | None = None
    qa: StrictStr | None = None
    devops: StrictStr | None = None

    _durations = field_validator("dev", "qa", "devops")(positive_duration)


class _Budget(StrictModel):
    tokens: Annotated[StrictInt, Field(ge=0)] = 0
    cost: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    time: StrictStr | None = None

    _number = field_validator("cost", mode="before")(_float)
    _duration = field_validator("time")(positive_duration)

    def limits(self) -> Budget:
        return Budget(self.tokens, self.cost, ms(self.time, 0) / 1000)


class _Budgets(StrictModel):
    warn_at: Annotated[float, Field(gt=0, le=1)] = 0.8
    task: _Budget = _Budget()
    module: _Budget = _Budget()
    project: _Budget = _Budget()

    _share = field_validator("warn_at", mode="before")(_float)


class _Approval(StrictModel):
    before: Literal["dev", "qa", "devops", "deployment_partial", "deployment_total"]
    deadline: StrictStr | None = None

    _duration = field_validator("deadline")(positive_duration)


class _Policy(StrictModel):
    max_attempts: Annotated[StrictInt, Field(ge=1, le=10)] = 3
    deadlines: _Deadlines = _Deadlines()
    heartbeat_timeout: StrictStr | None = None
    budgets: _Budgets = _Budgets()
    approvals: list[_Approval] = []

    _duration = field_validator("heartbeat_timeout")(positive_duration)
