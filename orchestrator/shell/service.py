"""`orchestrator service NAME`: one actor service, its health port, and a loud end.

A fatal error (the producer fenced by a newer instance of itself, a record the loop cannot
get past) stops the process with status 70; a restart resumes from the committed state.
"""

from __future__ import annotations

import logging
import signal
import sys

from orchestrator.adapters import health, kafka_topics
from orchestrator.adapters.config import Settings
from orchestrator.core import exitcodes
from orchestrator.shell.loop import Loop
from orchestrator.shell.parts import ActorDef, Parts

log = logging.getLogger("orchestrator.service")


def run(defn: ActorDef, area: str, settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    parts = Parts(defn, area, settings)
    ensure_changelog(parts)
    loop = Loop(parts)

    def ready() -> tuple[bool, str]:
        ok = loop.joined
        return ok, f"{len(loop.positions)} partitions restored" if ok else "joining the group"

    if settings.health_port:
        health.serve(settings.health_port, parts.metrics.registry, ready, settings.health_host)

    def stop(*_: object) -> None:
        loop.stopping = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    log.info("starting %s", parts.describe())
    try:
        loop.run()
    except Exception:
        log.critical("stopping: the loop cannot go on", exc_info=True)
        sys.exit(exitcodes.SOFTWARE)


def ensure_changelog(parts: Parts) -> None:
    """The changelog exists with as many partitions as the input topic (created if missing)."""
    admin_meta = kafka_topics.partitions(parts.settings, [parts.topic, parts.changelog])
    inputs = admin_meta.get(parts.topic)
    if not inputs:
        raise SystemExit(f"topic {parts.topic} does not exist: run `orchestrator topics create`")
    found = admin_meta.get(parts.changelog)
    if found is None:
        spec = kafka_topics.changelog_spec(parts.settings, parts.changelog, inputs)
        kafka_topics.create_topics(parts.settings, [spec])
    elif found != inputs:
        raise SystemExit(f"{parts.changelog} has {found} partitions, {parts.topic} {inputs}: "
                         "a changelog must be partition-aligned with its input")
