"""Fixed-window rate limits (e.g. USSD hops per phone per minute): Redis, or in process.

Each window has its own counter (``<key>:<window number>``), so a counter that outlives its
window is never read again and a lost ``EXPIRE`` cannot block anyone for good.
"""
from __future__ import annotations

import threading
import time
from typing import Protocol


class RateLimiter(Protocol):
    def hit(self, key: str, limit: int, window: int = 60) -> bool:
        """Count one more event for ``key``; False once more than ``limit`` fell in this window."""
        ...


class InProcessRateLimiter:
    """For one process (the demo, tests): counters in a dict, swept as windows pass."""

    def __init__(self, clock=time.time):
        self.clock = clock
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int, window: int = 60) -> bool:
        number = int(self.clock() // window)
        with self._lock:
            if len(self._counts) > 10_000:  # forget finished windows now and then
                self._counts = {k: n for k, n in self._counts.items() if k[1] >= number}
            count = self._counts.get((key, number), 0) + 1
            self._counts[(key, number)] = count
        return count <= limit


class RedisRateLimiter:
    """``INCR`` and ``EXPIRE`` in one round trip; shared by every process using this Redis."""

    def __init__(self, redis, prefix: str = "duka:rate:", clock=time.time):
        self.redis = redis
        self.prefix = prefix
        self.clock = clock

    def hit(self, key: str, limit: int, window: int = 60) -> bool:
        pipe = self.redis.pipeline()  # MULTI/EXEC: the counter never lives without its expiry
        self.queue_hit(pipe, key, window)
        count, _ = pipe.execute()
        return count <= limit

    def queue_hit(self, pipe, key: str, window: int = 60) -> None:
        """Queue one hit's two commands on ``pipe`` (the first result is the count), so a caller
        can send them in the same round trip as its own commands."""
        name = f"{self.prefix}{key}:{int(self.clock() // window)}"
        pipe.incr(name)
        pipe.expire(name, window * 2)
