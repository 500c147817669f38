"""Conversation session stores: Redis with a TTL, or in process for the embedded default."""
from __future__ import annotations

import json
import threading
import time
import uuid
from contextlib import contextmanager, nullcontext, suppress
from typing import ContextManager, Protocol


class SessionStore(Protocol):
    def get(self, key: str) -> dict | None: ...
    def set(self, key: str, value: dict, ttl: int) -> None: ...
    def delete(self, key: str) -> None: ...
    def batch(self) -> ContextManager: ...
    def lock(self, key: str, queue=None, again=None) -> ContextManager: ...


LOCK_SECONDS = 15  # longer than AT waits for a hop; a crashed holder frees it by then
LOCK_POLL = 0.05  # seconds between tries while another request holds a session
# Let go of a lock only if it is still ours (it may have expired and been taken meanwhile).
_RELEASE = """if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0"""


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
    def lock(self, key: str, queue=None, again=None):
        """One request at a time per session: a gateway's retry waits for the first answer.
        (``queue`` and ``again`` are for Redis; here there is no round trip to share.)"""
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
        in one round trip at the end, and only if the block succeeds. Yields the pipeline, for
        commands of the caller's own to go in the same round trip."""
        if self._target() is not self.redis:  # already batching: the outer batch sends
            yield self._target()
            return
        self._batch.pipe = self.redis.pipeline(transaction=False)
        try:
            yield self._batch.pipe
            self._batch.pipe.execute()
        finally:
            self._batch.pipe = None

    @contextmanager
    def lock(self, key: str, queue=None, again=None):
        """One request at a time per session, across processes (a Redis key with a timeout).

        Two round trips in all, for a hop: taking the lock goes with the commands ``queue(pipe)``
        adds (their results are what the block gets), and the block is a ``batch()`` that lets
        the lock go in its round trip. While another request holds the lock (a gateway's retry
        of a slow hop), this waits for it, then sends ``again``'s commands (default: ``queue``'s),
        whose results replace the last ones of the first round trip: what must be read after
        the wait (the session), not what must happen once (counting the hop).
        """
        name, token = self.prefix + "lock:" + key, uuid.uuid4().hex
        results = self._take(name, token, queue, again or queue)
        try:
            with self.batch() as pipe:
                yield results
                # EVAL, not a registered script: redis-py checks a pipeline's scripts are
                # loaded (SCRIPT EXISTS) in a round trip of its own before every execute.
                pipe.eval(_RELEASE, 1, name, token)
        except BaseException:  # the block's writes were not sent; let go on our own
            with suppress(Exception):  # failing that, the lock expires after LOCK_SECONDS
                self.redis.eval(_RELEASE, 1, name, token)
            raise

    def _take(self, name: str, token: str, queue, again) -> list:
        pipe = self.redis.pipeline()  # MULTI/EXEC
        pipe.set(name, token, nx=True, px=LOCK_SECONDS * 1000)
        if queue is not None:
            queue(pipe)
        took, *results = pipe.execute()
        if took:
            return results
        deadline = time.monotonic() + LOCK_SECONDS
        while not self.redis.set(name, token, nx=True, px=LOCK_SECONDS * 1000):
            if time.monotonic() > deadline:
                raise SessionBusy(name)
            time.sleep(LOCK_POLL)
        if again is None:
            return results
        pipe = self.redis.pipeline()
        again(pipe)
        fresh = pipe.execute()
        return results[:len(results) - len(fresh)] + fresh
