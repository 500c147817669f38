"""Background jobs: RQ when Redis is configured, otherwise run inline in this process.

A job is a plain importable function. Failures are retried (``retries`` times) and logged;
they never reach the caller, whose own work (an order, say) is already committed.
"""
from __future__ import annotations

import logging
from contextlib import nullcontext
from contextvars import ContextVar
from typing import Callable, ContextManager, Protocol, Sequence

log = logging.getLogger(__name__)


def _name(func: Callable) -> str:
    return f"{func.__module__}.{func.__qualname__}"


_LAST_INLINE_ATTEMPT: ContextVar[bool] = ContextVar("duka_last_inline_attempt", default=True)


def is_last_attempt() -> bool:
    """Whether the job running now is not retried if it fails: a job that must not leave
    something half done (a payment nobody will ask for again) settles it on its last try."""
    from rq import get_current_job

    job = get_current_job()
    if job is not None:  # in an RQ worker: the tries left after this one
        return not job.retries_left
    return _LAST_INLINE_ATTEMPT.get()


class JobQueue(Protocol):
    def enqueue(self, func: Callable, *args, retries: int = 0) -> None: ...


class InlineJobs:
    """The embedded default: no Redis, so run the job now and retry at once on failure.

    ``context`` gives each job what a worker process would have (the app's context).
    """

    def __init__(self, context: Callable[[], ContextManager] = nullcontext):
        self.context = context

    def enqueue(self, func: Callable, *args, retries: int = 0) -> None:
        attempts = retries + 1
        for attempt in range(1, attempts + 1):
            last = _LAST_INLINE_ATTEMPT.set(attempt == attempts)
            try:
                with self.context():
                    func(*args)
                return
            except Exception:
                log.exception("job %s failed (attempt %d of %d)", _name(func), attempt, attempts)
            finally:
                _LAST_INLINE_ATTEMPT.reset(last)
        log.error("job %s gave up after %d attempt(s)", _name(func), attempts)


class RqJobs:
    """Jobs go to an RQ queue in Redis; ``flask --app wsgi worker`` runs them."""

    def __init__(self, redis, retry_intervals: Sequence[int] = (10, 60, 300), queue="default"):
        from rq import Queue

        self.queue = Queue(queue, connection=redis)
        self.retry_intervals = list(retry_intervals) or [0]

    def enqueue(self, func: Callable, *args, retries: int = 0) -> None:
        from rq import Retry

        retry = None
        if retries:
            last = len(self.retry_intervals) - 1
            intervals = [self.retry_intervals[min(i, last)] for i in range(retries)]
            retry = Retry(max=retries, interval=intervals)
        # With a pipeline of ours, RQ registers the queue and saves and pushes the job in one
        # round trip; left to itself it takes two.
        pipe = self.queue.connection.pipeline()
        self.queue.enqueue(func, *args, retry=retry, pipeline=pipe)
        pipe.execute()
