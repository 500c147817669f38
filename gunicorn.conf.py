"""gunicorn settings for Duka's web process: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Command-line flags override these (``bench/ussd_load.py`` passes -w, -k and --threads).
"""
import gc
import os
import sys

bind = os.environ.get("DUKA_BIND", "0.0.0.0:8000")
# Threads, because a USSD hop spends most of its time waiting on PostgreSQL and Redis.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", 2))  # about one per core
threads = int(os.environ.get("DUKA_THREADS", 8))
keepalive = 5
timeout = 30
graceful_timeout = 10

# How long a thread may run Python before another gets the GIL (CPython's default is 5 ms).
# A hop goes to PostgreSQL and Redis several times; each time it comes back it may wait that
# long behind another thread's Python work, a transaction holding its row locks meanwhile.
# Measured with bench/ussd_load.py (100 paced shoppers): p50 17 -> 13 ms, p99 ~160 -> ~110 ms.
GIL_SWITCH_INTERVAL = 0.0005


def post_fork(server, worker):
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)


def post_worker_init(worker):
    # What the worker has loaded (the app, SQLAlchemy, Babel: hundreds of thousands of objects)
    # stays for its life. A full garbage collection walks every object and stops all of the
    # worker's threads meanwhile: 80-120 ms each, measured with 100 paced shoppers, several
    # times a minute. Frozen, they are left out of every collection: 5-8 ms.
    gc.collect()
    gc.freeze()
