"""Conversation session stores: Redis with a TTL, or in process for the embedded default."""
from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager, nullcontext
from typing import ContextManager, Protocol


class SessionStore(Protocol):
    def get(self, key: str) -> dict | None: ...
    def set(self, key: str, value: dict, ttl: int) -> None: ...
    def delete(self, key: str) -> None: ...
    def batch(self) -> ContextManager: ...
    def lock(self, key: str) -> ContextManager: ...


LOCK_SECONDS = 15  # longer than AT waits for a hop; a crashed holder frees it by then


class SessionBusy(Exception):
    """Another request for the same session is still being answered."""


class InProcessSessions:
    """For one process (the demo, tests): a dict with expiry times."""

    def __init__(self):
        self._data: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}  # per session, see lock()

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
                self._locks = {k: held for k, held in self._locks.items()
                               if held.locked() or k in self._data}
            self._data[key] = (now + ttl, json.dumps(value))

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def batch(self) -> ContextManager:
        return nullcontext()  # nothing to gain: every call is already in process

    @contextmanager
    def lock(self, key: str):
        """One request at a time per session: a gateway's retry waits for the first answer."""
        with self._lock:
            held = self._locks.setdefault(key, threading.Lock())
        if not held.acquire(timeout=LOCK_SECONDS):
            raise SessionBusy(key)
        try:
            yield
        finally:
            held.release()


class RedisSessions:
    def __init__(self, redis, prefix: str = "duka:session:"):
        self.redis = redis
        self.prefix = prefix
        self._batch = threading.local()  # the pipeline of this thread's batch(), if any

    def get(self, key: str) -> dict | None:
        return self.decode(self.redis.get(self.prefix + key))

    def queue_get(self, pipe, key: str) -> None:
        """Queue a ``get`` on ``pipe``; ``decode`` its result."""
        pipe.get(self.prefix + key)

    @staticmethod
    def decode(raw: bytes | None) -> dict | None:
        return json.loads(raw) if raw is not None else None

    def set(self, key: str, value: dict, ttl: int) -> None:
        self._target().set(self.prefix + key, json.dumps(value), ex=ttl)

    def delete(self, key: str) -> None:
        self._target().delete(self.prefix + key)

    def _target(self):
        return getattr(self._batch, "pipe", None) or self.redis

    @contextmanager
    def batch(self):
        """The ``set`` and ``delete`` calls made inside (by this thread) go to Redis together,
        in one round trip at the end, and only if the block succeeds."""
        if self._target() is not self.redis:  # already batching: the outer batch sends
            yield
            return
        self._batch.pipe = self.redis.pipeline(transaction=False)
        try:
            yield
            self._batch.pipe.execute()
        finally:
            self._batch.pipe = None

    @contextmanager
    def lock(self, key: str):
        """One request at a time per session, across processes (a Redis lock with a timeout)."""
        held = self.redis.lock(self.prefix + "lock:" + key, timeout=LOCK_SECONDS,
                               blocking_timeout=LOCK_SECONDS)
        if not held.acquire():
            raise SessionBusy(key)
        try:
            yield
        finally:
            try:
                held.release()
            except Exception:  # expired meanwhile: someone else may hold it now; leave it
                pass
