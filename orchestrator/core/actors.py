"""The one list of actor services and the areas they serve."""

from __future__ import annotations

ACTORS = ("spec", "cto", "pm", "monitor", "dev", "qa", "devops")
PER_AREA = ("pm", "monitor", "dev", "qa", "devops")  # run per area, or once for every area
AREAS = ("backend", "web", "mobile")
ALL = "all"
SERVICES = (*ACTORS, "projector", "api")


def area_of(service: str, area: str) -> str:
    """SPEC and the CTO serve every area whatever they are told."""
    return area if service in PER_AREA else ALL


def groups() -> list[tuple[str, str]]:
    """Every (service, area) an actor service may run as: one consumer group each."""
    return [(name, area) for name in ACTORS
            for area in ((*AREAS, ALL) if name in PER_AREA else (ALL,))]
