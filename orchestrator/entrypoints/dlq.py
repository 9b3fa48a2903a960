"""Dead letters: list what the services could not decode or process, and re-drive it.

A dead letter is the original value (and key) with Spring Kafka's `kafka_dlt-*` headers
(dead_letters.dead_letter_headers). Every consumer group that fails on a record dead-letters it, so
one poison record on the events topic shows up once per actor service; `replay` re-drives
each original record (topic, partition, offset) once, to its original topic, with its
original key and headers.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import typer
from confluent_kafka import Consumer, TopicPartition

from orchestrator.adapters import bus, config, dead_letters
from orchestrator.adapters.config import Settings
from orchestrator.core import exitcodes

dlq_app = typer.Typer(no_args_is_help=True, help="Dead letters: inspect and re-drive.")


@dataclass
class DeadLetter:
    offset: int  # on the dead-letter topic
    timestamp_ms: int
    original_topic: str
    original_partition: int
    original_offset: int
    consumer_group: str
    exception: str
    message: str
    size: int
    key: bytes | None = field(repr=False, default=None)
    value: bytes | None = field(repr=False, default=None)
    headers: list[tuple[str, bytes]] = field(repr=False, default_factory=list)

    def summary(self) -> dict[str, Any]:
        out = asdict(self)
        for name in ("key", "value", "headers"):
            out.pop(name)
        out["key"] = None if self.key is None else self.key.decode(errors="replace")
        return out

    @property
    def source(self) -> tuple[str, int, int]:
        return (self.original_topic, self.original_partition, self.original_offset)


def read(settings: Settings, timeout: float = 10.0) -> list[DeadLetter]:
    """Every record now on the dead-letter topic, oldest first."""
    consumer = Consumer(bus.consumer_config(settings, f"dlq-{uuid.uuid4()}",
                                            **{"enable.auto.commit": False}))
    found: list[DeadLetter] = []
    try:
        meta = consumer.list_topics(settings.dlq_topic, timeout=10)
        parts = sorted(meta.topics[settings.dlq_topic].partitions)
        ends = {}
        for p in parts:
            lo, hi = consumer.get_watermark_offsets(TopicPartition(settings.dlq_topic, p), 10)
            if hi > lo:
                ends[p] = hi
        if not ends:
            return []
        consumer.assign([TopicPartition(settings.dlq_topic, p, 0) for p in ends])
        deadline = time.monotonic() + timeout
        while ends and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            p, off = int(msg.partition() or 0), int(msg.offset() or 0)
            found.append(_letter(msg))
            if off + 1 >= ends.get(p, 0):
                ends.pop(p, None)
    finally:
        consumer.close()
    return sorted(found, key=lambda d: d.offset)


def _letter(msg: Any) -> DeadLetter:
    headers = list(msg.headers() or [])
    info = dead_letters.read_dead_letter_headers(headers)
    ts = msg.timestamp()[1] if msg.timestamp() else 0
    return DeadLetter(
        offset=int(msg.offset() or 0), timestamp_ms=int(ts),
        original_topic=str(info.get("original-topic", "")),
        original_partition=int(info.get("original-partition", -1)),
        original_offset=int(info.get("original-offset", -1)),
        consumer_group=str(info.get("original-consumer-group", "")),
        exception=str(info.get("exception-fqcn", "")),
        message=str(info.get("exception-message", "")),
        size=len(msg.value() or b""), key=msg.key(), value=msg.value(), headers=headers,
    )


def replay(settings: Settings, letters: list[DeadLetter]) -> list[DeadLetter]:
    """Re-produce each original record once (value, key, original headers) to its topic."""
    chosen: dict[tuple[str, int, int], DeadLetter] = {}
    for letter in letters:
        if letter.original_topic:
            chosen.setdefault(letter.source, letter)
    if not chosen:
        return []
    publisher = bus.Publisher(settings)
    try:
        for letter in chosen.values():
            original = [(k, v) for k, v in letter.headers if not k.startswith("kafka_dlt-")]
            publisher.send_raw(letter.original_topic, letter.key, letter.value, original)
        publisher.flush()
    finally:
        publisher.close()
    return list(chosen.values())


@dlq_app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="machine-readable output")) -> None:
    """Show every dead letter: where it came from and why it failed."""

    letters = read(config.load())
    if as_json:
        typer.echo(json.dumps([d.summary() for d in letters], indent=2))
        return
    if not letters:
        typer.echo("no dead letters")
        return
    for d in letters:
        typer.echo(f"{d.offset:>6}  {d.original_topic}[{d.original_partition}]@{d.original_offset}"
                   f"  {d.consumer_group}  {d.size}B  {d.exception}: {d.message[:160]}")


@dlq_app.command("replay")
def replay_(
    all_: bool = typer.Option(False, "--all", help="re-drive every dead letter"),
    offset: list[int] = typer.Option([], "--offset", help="a dead letter's offset (repeatable)"),
) -> None:
    """Re-produce dead letters' original records to their original topics."""

    if all_ == bool(offset):
        typer.echo("error: give either --all or --offset N", err=True)
        raise typer.Exit(exitcodes.USAGE)
    settings = config.load()
    letters = read(settings)
    if not all_:
        wanted = set(offset)
        missing = wanted - {d.offset for d in letters}
        if missing:
            typer.echo(f"error: no dead letter at offset(s) {sorted(missing)}", err=True)
            raise typer.Exit(1)
        letters = [d for d in letters if d.offset in wanted]
    done = replay(settings, letters)
    for d in done:
        typer.echo(f"replayed {d.original_topic}[{d.original_partition}]@{d.original_offset}")
    typer.echo(f"{len(done)} record(s) re-driven")
