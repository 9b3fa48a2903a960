"""YAML (and so JSON) loading that refuses anchors, aliases and duplicate keys: nothing in a
submitted spec can expand, and no key silently overrides another."""

from __future__ import annotations

from typing import Any

import yaml


class Refused(yaml.YAMLError):
    pass


class StrictLoader(yaml.SafeLoader):
    """A SafeLoader that refuses anchors, aliases and duplicate keys."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise Refused(f"YAML anchors and aliases are not allowed ({event.start_mark})")
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        keys = [self.construct_object(k, deep=deep) for k, _ in node.value]
        for i, key in enumerate(keys):
            if isinstance(key, str | int | float | bool) and key in keys[:i]:
                raise Refused(f"duplicate key {key!r} ({node.start_mark})")
        return super().construct_mapping(node, deep=deep)
