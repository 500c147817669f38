"""Provider access tokens, cached and shared across processes.

Daraja invalidates the previous token whenever a new one is made, so every worker and web
process must share one token per credential set and refresh it once, before it expires: in
Redis under a lock when Redis is configured, in this process otherwise.
"""
from __future__ import annotations

import threading
import time
from typing import Callable


class InProcessTokens:
    def __init__(self):
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, fetch: Callable[[], tuple[str, int]], margin: int = 60) -> str:
        with self._lock:
            cached = self._tokens.get(key)
            if cached and cached[1] > time.monotonic():
                return cached[0]
            token, expires_in = fetch()
            self._tokens[key] = (token, time.monotonic() + max(int(expires_in) - margin, 1))
            return token

    def forget(self, key: str) -> None:
        with self._lock:
            self._tokens.pop(key, None)


class RedisTokens:
    PREFIX = "duka:payments:token:"

    def __init__(self, redis):
        self.redis = redis

    def get(self, key: str, fetch: Callable[[], tuple[str, int]], margin: int = 60) -> str:
        name = self.PREFIX + key
        token = self.redis.get(name)
        if token is not None:
            return token.decode()
        # One process fetches; the others wait for it and then read its token.
        with self.redis.lock(name + ":lock", timeout=30, blocking_timeout=30):
            token = self.redis.get(name)
            if token is not None:
                return token.decode()
            token, expires_in = fetch()
            self.redis.set(name, token, ex=max(int(expires_in) - margin, 1))
            return token

    def forget(self, key: str) -> None:
        self.redis.delete(self.PREFIX + key)
