"""The submitted spec document (DESIGN §9): strict parsing into a `ProjectCreated`.

`parse` never raises: every problem becomes a `SpecError` naming its path (`$` = the
whole document). Aliases and anchors are refused outright so nothing can expand. The
pieces: strict_yaml (loading), document and policy_doc (the shape), errors, to_project.
"""

from __future__ import annotations

import yaml
from pydantic import ValidationError

from orchestrator.core.events import ProjectCreated, SpecError
from services.spec.document import _Spec
from services.spec.errors import duplicates, from_pydantic, root
from services.spec.strict_yaml import StrictLoader
from services.spec.to_project import project

MAX_BYTES = 1024 * 1024


def parse(document: bytes, max_bytes: int = MAX_BYTES) -> ProjectCreated | list[SpecError]:
    """The project a spec document describes, or every error found in it."""
    if len(document) > max_bytes:
        return [root(f"document is {len(document)} bytes, over the limit of {max_bytes}")]
    if not document.strip():
        return [root("empty document")]
    if b"\x00" in document:
        return [root("binary content: the document must be UTF-8 YAML or JSON text")]
    try:
        text = document.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [root(f"not UTF-8 text: {exc.reason} at byte {exc.start}")]
    try:
        data = yaml.load(text, Loader=StrictLoader)
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        return [root(f"not valid YAML or JSON: {exc}")]
    if not isinstance(data, dict):
        return [root(f"the document must be a mapping, not {type(data).__name__}")]
    errors = duplicates(data)
    try:
        spec = _Spec.model_validate(data)
    except ValidationError as exc:
        return from_pydantic(exc) + errors
    return errors or project(spec)
