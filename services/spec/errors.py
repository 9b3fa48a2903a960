"""Every problem in a spec as a `SpecError` naming its path (`$` = the whole document): the
schema's errors from pydantic, and duplicate areas and requirement ids found on the raw data
so that both are reported together."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from orchestrator.core.events import SpecError
from services.spec.document import ONE, PER_AREA


def root(message: str) -> SpecError:
    return SpecError("$", message)


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if part in (ONE, PER_AREA, "[key]"):
            continue
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out or "$"


def from_pydantic(exc: ValidationError) -> list[SpecError]:
    errors = []
    for err in exc.errors(include_url=False):
        message = str(err["msg"]).removeprefix("Value error, ")
        errors.append(SpecError(_path(err["loc"]), message))
    return errors


def duplicates(data: dict[Any, Any]) -> list[SpecError]:
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
