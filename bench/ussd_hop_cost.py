"""What one USSD hop costs the app: SQL statements, Redis commands and CPU, per hop of a journey.

    .venv/bin/python bench/ussd_hop_cost.py [--journeys 100] [--profile 25]

Same throwaway PostgreSQL + Redis as ``bench/ussd_load.py`` (``DATABASE_URL``, default
``duka_bench``, schema DROPPED and rebuilt; ``REDIS_URL``, default db 9, FLUSHED), but in one
process through Flask's test client, one shopper at a time: no HTTP, no gunicorn, no queueing,
so the figures are the app's own. Each journey is ``ussd_load.JOURNEY`` (dial, then five hops to
an ``END``); half the shoppers come back for a second journey, so both first contact and a
returning customer are in the mix. Prints one JSON line: SQL statements and Redis commands per
hop (mean, and per position in the journey), statements SQLAlchemy built anew per hop (cache
keys it worked out: a statement built once keeps its key), CPU ms per hop
(``time.process_time``, this thread only: the database's and Redis's CPU are not in it).
``--profile N`` prints cProfile's top ``N`` functions by cumulative time to stderr.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import logging
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import event  # noqa: E402

from ussd_load import (DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL, JOURNEY, SERVICE_CODE,  # noqa: E402
                       USSD_PATH, prepare)


def count_redis_commands(redis) -> list[int]:
    """Count commands sent on ``redis`` (a pipeline counts as one round trip)."""
    counter = [0]
    pool_class = redis.connection_pool.connection_class
    send = pool_class.send_packed_command

    def counting(self, command, check_health=True):
        counter[0] += 1
        return send(self, command, check_health)

    pool_class.send_packed_command = counting
    return counter


def count_statements_built() -> list[int]:
    """Count cache keys SQLAlchemy works out: one per statement built anew (a statement built
    once keeps its key), plus the few the ORM builds for itself."""
    from sqlalchemy.sql import cache_key

    counter = [0]
    generate = cache_key.HasCacheKey._generate_cache_key

    def counting(self):
        counter[0] += 1
        return generate(self)

    cache_key.HasCacheKey._generate_cache_key = counting
    return counter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--journeys", type=int, default=100)
    parser.add_argument("--profile", type=int, default=0, help="print the top N functions")
    parser.add_argument("--show-sql", action="store_true",
                        help="print the SQL of a returning shopper's journey to stderr")
    parser.add_argument("--journey", help="inputs after the dial joined by *, as ussd_load.py's")
    parser.add_argument("--open-ended", action="store_true",
                        help="the journey may stop on a CON screen (browsing, no order)")
    args = parser.parse_args()
    if args.journey:
        JOURNEY[:] = args.journey.split("*")

    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    prepare(database_url, redis_url)
    from wsgi import create_app

    app = create_app({"DATABASE_URL": database_url, "REDIS_URL": redis_url,
                      "AT_USERNAME": "", "AT_API_KEY": "", "USSD_HOPS_PER_MINUTE": 10_000})
    logging.disable(logging.WARNING)
    statements = [0]
    shown: list[str] | None = None

    @event.listens_for(app.extensions["duka.engine"], "before_cursor_execute")
    def _count(_conn, _cursor, statement, *_):
        statements[0] += 1
        if shown is not None:
            shown.append(" ".join(statement.split())[:150])

    from channels.context import KEY
    redis_sends = count_redis_commands(app.extensions[KEY].sessions.redis)
    built = count_statements_built()
    client = app.test_client()
    hops = ["", *("*".join(JOURNEY[:n]) for n in range(1, len(JOURNEY) + 1))]
    per_position: list[list[tuple[int, int, float]]] = [[] for _ in hops]
    profiler = cProfile.Profile(time.process_time) if args.profile else None  # CPU time

    def journey(phone: str, session_id: str, measured: bool) -> None:
        for position, text in enumerate(hops):
            sql0, redis0, built0, cpu0 = (statements[0], redis_sends[0], built[0],
                                          time.process_time())
            if profiler and measured:
                profiler.enable()
            response = client.post(USSD_PATH, data={
                "sessionId": session_id, "serviceCode": SERVICE_CODE, "phoneNumber": phone,
                "networkCode": "63902", "text": text})
            if profiler and measured:
                profiler.disable()
            cpu = (time.process_time() - cpu0) * 1000
            assert response.status_code == 200 and response.text.startswith(("CON ", "END ")), \
                response.text
            if measured:
                per_position[position].append((statements[0] - sql0, redis_sends[0] - redis0,
                                               cpu, built[0] - built0))
        assert args.open_ended or response.text.startswith("END "), response.text

    for n in range(5):  # warm-up: imports, compiled-statement caches, pools
        journey(f"+2547990{n:05d}", f"warm-{n}", measured=False)
    for n in range(args.journeys):
        journey(f"+2547{n:08d}", f"cost-{n}-a", measured=True)
        if n % 2:
            journey(f"+2547{n:08d}", f"cost-{n}-b", measured=True)

    if args.show_sql:
        shown = []
        for position, text in enumerate(hops):
            shown.append(f"-- hop {position}: {text!r}")
            client.post(USSD_PATH, data={
                "sessionId": "show-sql", "serviceCode": SERVICE_CODE,
                "phoneNumber": "+254700000001", "networkCode": "63902", "text": text})
        print("\n".join(shown), file=sys.stderr)
        shown = None
    every = [hop for position in per_position for hop in position]
    print(json.dumps({
        "hops": len(every),
        "sql_per_hop": round(statistics.mean(h[0] for h in every), 2),
        "redis_per_hop": round(statistics.mean(h[1] for h in every), 2),
        "statements_built_per_hop": round(statistics.mean(h[3] for h in every), 2),
        "cpu_ms_per_hop": round(statistics.mean(h[2] for h in every), 2),
        "cpu_ms_p50": round(statistics.median(h[2] for h in every), 2),
        "by_position": [{"text": hops[i], "sql": round(statistics.mean(h[0] for h in hs), 1),
                         "redis": round(statistics.mean(h[1] for h in hs), 1),
                         "cpu_ms": round(statistics.mean(h[2] for h in hs), 2)}
                        for i, hs in enumerate(per_position)],
    }))
    if profiler:
        order = os.environ.get("SORT", "cumulative")  # or tottime
        pstats.Stats(profiler, stream=sys.stderr).sort_stats(order).print_stats(args.profile)
    app.extensions["duka.engine"].dispose()


if __name__ == "__main__":
    main()
