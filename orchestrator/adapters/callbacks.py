"""Results that arrive later (an HTTP agent's callback, a person's verdict) and their tokens.

Transport, not catalog events: a JSON record on `<prefix>.callbacks` that the waiting
worker's executor turns into an `Outcome`. Channel and token format: docs/executors.md
("The callbacks channel").
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from orchestrator.adapters.bus import client_config
from orchestrator.adapters.config import Settings
from orchestrator.core.envelope import ArtifactRef, Attachment

RETENTION_MS = 7 * 24 * 3_600_000
TOKEN_TTL_MS = 3_600_000
MAX_INLINE_BYTES = 512 * 1024  # an artifact inlined in a callback body (base64), before storing


def topic(settings: Settings) -> str:
    return f"{settings.topic_prefix}.callbacks"


# -- tokens ---------------------------------------------------------------------------


def secret(settings: Settings) -> bytes:
    found = os.environ.get("ORCH_CALLBACK_SECRET")
    if found:
        return found.encode()
    path = settings.run_dir / "callback.secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"callback.secret.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)  # the first writer wins; everybody reads the same secret
        tmp.unlink()
    return path.read_text().strip().encode()


def token(key: bytes, task_id: str, attempt: int, round: int, expires_ms: int) -> str:
    mac = hmac.new(key, f"{task_id}\n{attempt}\n{round}\n{expires_ms}".encode(), hashlib.sha256)
    return f"{expires_ms}.{mac.hexdigest()}"


def check_token(key: bytes, presented: str, task_id: str, attempt: int, round: int,
                now_ms: int) -> str | None:
    """None when `presented` is valid for that claim now, else why not."""
    head, _, _ = presented.partition(".")
    if not head.isdigit():
        return "malformed token"
    expected = token(key, task_id, attempt, round, int(head))
    if not hmac.compare_digest(expected, presented):
        return "token does not match this task, attempt and round"
    if int(head) <= now_ms:
        return "token expired"
    return None


# -- records --------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """One settled claim: what a callback or a person said."""

    task_id: str
    attempt: int
    round: int
    ok: bool
    summary: str
    source: str  # "http" | "manual"
    failures: tuple[str, ...] = ()
    smoke_ok: bool | None = None
    artifacts: tuple[ArtifactRef, ...] = field(default_factory=tuple)

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.task_id, self.attempt, self.round)

    def encode(self) -> bytes:
        body = asdict(self)
        body["failures"] = list(self.failures)
        body["artifacts"] = [asdict(a) for a in self.artifacts]
        return json.dumps(body, sort_keys=True).encode()

    @staticmethod
    def decode(raw: bytes) -> Verdict:
        body = json.loads(raw)
        return Verdict(
            task_id=str(body["task_id"]), attempt=int(body["attempt"]), round=int(body["round"]),
            ok=bool(body["ok"]), summary=str(body.get("summary", "")), source=str(body["source"]),
            failures=tuple(str(f) for f in body.get("failures") or ()),
            smoke_ok=body.get("smoke_ok"),
            artifacts=tuple(ArtifactRef(**a) for a in body.get("artifacts") or ()),
        )


def inline_attachments(items: list[dict[str, Any]] | None) -> list[Attachment]:
    """`[{"name", "media_type", "content_b64"}]` of a callback body; ValueError if malformed."""
    out = []
    for item in items or []:
        try:
            content = base64.b64decode(str(item["content_b64"]), validate=True)
            name = Path(str(item["name"])).name
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed artifact {str(item)[:80]}: {exc}") from None
        if not name or len(content) > MAX_INLINE_BYTES:
            raise ValueError(f"artifact {name!r} has no name or exceeds {MAX_INLINE_BYTES} bytes")
        out.append(Attachment(name, str(item.get("media_type") or "application/octet-stream"), content))
    return out


def ensure_topic(settings: Settings, timeout: float = 30.0) -> None:
    admin = AdminClient(client_config(settings))
    new = NewTopic(topic(settings), 1, settings.replication_factor,
                   config={"retention.ms": str(RETENTION_MS)})
    for future in admin.create_topics([new], request_timeout=timeout).values():
        try:
            future.result()
        except Exception as exc:  # already there is fine; anything else is not
            if "TOPIC_ALREADY_EXISTS" not in str(exc) and "already exists" not in str(exc):
                raise


def publish(settings: Settings, verdict: Verdict, timeout: float = 30.0) -> tuple[str, int, int]:
    """Deliver `verdict` to the waiting worker (blocks until the broker acknowledged it);
    returns where it landed (topic, partition, offset)."""
    ensure_topic(settings)
    producer = Producer(client_config(settings, acks="all", **{"enable.idempotence": True}))
    errors: list[KafkaError] = []
    landed: list[tuple[str, int, int]] = []

    def delivered(err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            errors.append(err)
        else:
            landed.append((msg.topic() or "", msg.partition() or 0, msg.offset() or 0))

    producer.produce(topic(settings), verdict.encode(), verdict.task_id.encode(), on_delivery=delivered)
    left = producer.flush(timeout)
    if left or errors or not landed:
        raise RuntimeError(f"callback for {verdict.task_id} not delivered: {errors or 'timeout'}")
    return landed[0]
