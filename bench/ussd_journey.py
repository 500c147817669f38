"""Time whole USSD purchases through the app, in process (no network, one thread).

    .venv/bin/python bench/ussd_journey.py [--journeys 200]

Uses DATABASE_URL / REDIS_URL when set (a throwaway database: it is migrated and seeded),
otherwise a temporary SQLite file. Prints one JSON line: hops, hops/s, latency percentiles (ms).
The SMS receipt is logged, not sent (no AT credentials), so sends do not distort the figures.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from commerce.db import upgrade_database  # noqa: E402
from commerce.demo import seed_demo_store  # noqa: E402
from wsgi import create_app  # noqa: E402

JOURNEY = ["", "1", "1*1", "1*1*1", "1*1*1*1", "1*1*1*1*1"]
# home → Vegetables → Cabbage → 1 (in the cart: how it comes) → Pick up → Pay cash: a first
# purchase, 6 hops (7 until a Checkout hop no longer came after the quantity)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--journeys", type=int, default=200)
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    upgrade_database(url)
    app = create_app({"DATABASE_URL": url, "AT_USERNAME": "", "AT_API_KEY": ""})
    logging.disable(logging.WARNING)  # the demo SMS log line per order would dominate output
    with app.extensions["duka.db"]() as db:
        seed_demo_store(db)
        db.execute(text("UPDATE stocks SET quantity = 1000000 WHERE variant_id = "
                        "(SELECT id FROM variants WHERE sku = 'CABB')"))  # never sell out
        db.commit()
    client = app.test_client()

    latencies = []
    started = time.perf_counter()
    for n in range(args.journeys):
        phone = f"+2547{n:08d}"
        for typed in JOURNEY:
            t0 = time.perf_counter()
            response = client.post("/channels/ussd/africastalking", data={
                "sessionId": f"bench-{n}", "serviceCode": "*384*123#", "phoneNumber": phone,
                "networkCode": "63902", "text": typed})
            latencies.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, response.text
    elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100)
    print(json.dumps({
        "database": app.extensions["duka.engine"].dialect.name,
        "redis": bool(app.config.get("REDIS_URL")), "journeys": args.journeys,
        "hops": len(latencies), "hops_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(q[49], 2), "p95_ms": round(q[94], 2), "p99_ms": round(q[98], 2),
    }))


if __name__ == "__main__":
    main()
