"""gunicorn settings for Duka's web process: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Command-line flags override these (``bench/ussd_load.py`` passes -w, -k and --threads).
"""
import gc
import os
import sys

bind = os.environ.get("DUKA_BIND", "0.0.0.0:8000")


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may run on
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# Processes rather than threads. A hop waits on PostgreSQL and Redis for most of its time, so a
# process keeps two threads; but every thread of a process runs its Python under one lock (the
# GIL), and a hop back from a round trip queues behind its siblings' Python work. More processes
# with fewer threads leave that queueing to the kernel, which spreads it over the cores.
# Measured with bench/ussd_load.py (100 paced shoppers, 2 cores, runs alternating): 5 or 6
# processes x 2 threads beat 2 x 8 in all nine pairs; 5 x 2 had a p99 of 159-190 ms where 2 x 8
# had 446-492 ms, the same hour. Flat out, both served the same hops per second.
# 2 x cores + 1 workers is gunicorn's own rule of thumb. Without Redis, USSD sessions and rate
# limits live in the process that answered, so the next hop must come back to it: one process.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY",
                             2 * _cores() + 1 if os.environ.get("REDIS_URL") else 1))
threads = int(os.environ.get("DUKA_THREADS", 2))
keepalive = 5
timeout = 30
graceful_timeout = 10

# How long a thread may run Python before another gets the GIL (CPython's default is 5 ms).
# A hop goes to PostgreSQL and Redis several times; each time it comes back it may wait that
# long behind another thread's Python work, a transaction holding its row locks meanwhile.
# Measured with bench/ussd_load.py (100 paced shoppers): p50 17 -> 13 ms, p99 ~160 -> ~110 ms.
# Flat out it costs nothing measurable: 5 alternating pairs against 5 ms gave a Duka/bare ratio
# of 0.192-0.225 with it and 0.206-0.244 without, the box's drift being as large.
GIL_SWITCH_INTERVAL = 0.0005


def on_starting(server):
    if server.cfg.workers > 1 and not os.environ.get("REDIS_URL"):
        server.log.warning("%d workers but no REDIS_URL: each keeps its own USSD sessions, so "
                           "a shopper's next hop may land on one that never saw the last. "
                           "Set REDIS_URL, or run one worker.", server.cfg.workers)


def post_fork(server, worker):
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)


def post_worker_init(worker):
    # What the worker has loaded (the app, SQLAlchemy, Babel: hundreds of thousands of objects)
    # stays for its life. A full garbage collection walks every object and stops all of the
    # worker's threads meanwhile: 80-120 ms each, measured with 100 paced shoppers, several
    # times a minute. Frozen, they are left out of every collection: 5-8 ms.
    gc.collect()
    gc.freeze()
