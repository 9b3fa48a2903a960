"""The one reading of the wall clock the shells stamp events with (the deciders never read it)."""

from __future__ import annotations

import time


def now_ms() -> int:
    return int(time.time() * 1000)
