"""Position tokens: what a write answers so that a later read can wait for it (read-your-writes).

A token names where the write landed (topic, partition, offset) and what it was: a
submission (its request id) or a verdict on a claim (task, attempt, round). What the read
model must show for each is the read side's business (`services/projections/api/consistency.py`).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import orjson


@dataclass(frozen=True)
class Token:
    topic: str
    partition: int
    offset: int
    request_id: str | None = None  # a submission
    task: tuple[str, int, int] | None = None  # a verdict: (task id, attempt, round)

    def encode(self) -> str:
        body = {"t": self.topic, "p": self.partition, "o": self.offset, "r": self.request_id,
                "k": list(self.task) if self.task else None}
        return base64.urlsafe_b64encode(orjson.dumps(body)).decode().rstrip("=")

    @staticmethod
    def decode(text: str) -> Token:
        """Raises ValueError for anything that is not a token."""
        try:
            body = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            task = body["k"]
            token = Token(str(body["t"]), int(body["p"]), int(body["o"]), body["r"],
                          None if task is None else (str(task[0]), int(task[1]), int(task[2])))
        except (binascii.Error, ValueError, KeyError, TypeError, IndexError) as exc:
            raise ValueError("malformed position token") from exc
        if (token.request_id is None) == (token.task is None) or not (
                token.request_id is None or isinstance(token.request_id, str)):
            raise ValueError("malformed position token")
        return token
