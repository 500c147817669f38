"""Conversation session stores: Redis with a TTL, or in process for the embedded default."""
from __future__ import annotations

import json
import threading
import time
from typing import Protocol


class SessionStore(Protocol):
    def get(self, key: str) -> dict | None: ...
    def set(self, key: str, value: dict, ttl: int) -> None: ...
    def delete(self, key: str) -> None: ...


class InProcessSessions:
    """For one process (the demo, tests): a dict with expiry times."""

    def __init__(self):
        self._data: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> dict | None:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            expires, raw = item
            if expires < time.monotonic():
                del self._data[key]
                return None
            return json.loads(raw)

    def set(self, key: str, value: dict, ttl: int) -> None:
        with self._lock:
            now = time.monotonic()
            if len(self._data) > 10_000:  # sweep expired sessions now and then
                self._data = {k: v for k, v in self._data.items() if v[0] >= now}
            self._data[key] = (now + ttl, json.dumps(value))

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)


class RedisSessions:
    def __init__(self, redis, prefix: str = "duka:session:"):
        self.redis = redis
        self.prefix = prefix

    def get(self, key: str) -> dict | None:
        raw = self.redis.get(self.prefix + key)
        return json.loads(raw) if raw is not None else None

    def set(self, key: str, value: dict, ttl: int) -> None:
        self.redis.set(self.prefix + key, json.dumps(value), ex=ttl)

    def delete(self, key: str) -> None:
        self.redis.delete(self.prefix + key)
