"""Race many buyers for too few units and measure checkout: never oversell, never deadlock.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/duka_h4_test \\
        .venv/bin/python bench/checkout_race.py [--levels 10,50,200] [--held 0]

DATABASE_URL must be a THROWAWAY PostgreSQL database: the script migrates it
(``upgrade_database``), EMPTIES every Duka table, and seeds the demo store. For each concurrency
level ``c`` it sets one variant's stock to ``c // 5`` units, gives ``c`` new customers one unit
each in their cart, releases ``c`` threads together with a ``threading.Barrier`` and has each
call ``checkout.do_place_order``. It prints ONE JSON line per level:

    concurrency, stock, orders_placed, units_oversold, deadlocks, out_of_stock, errors,
    checkouts_per_second, p50_ms, p95_ms   (+ pool_size, on_hand_after, reserved_after, held)

``checkouts_per_second`` is attempts (winners and losers) over the wall time from the barrier to
the last thread; latencies are per attempt and include waiting for a pooled connection and for
row locks. ``--held N`` first runs ``do_start_checkout`` for N buyers (their units are held
before the race), which mixes the "already reserved" and "reserve now" paths of
``do_place_order``.

Connections. ``wsgi.create_app`` builds its engine with ``make_engine`` (pool 10 + overflow 20
= 30), too few for 200 buyers to be in flight at once. The racers therefore use their own
engine, same URL normalisation (``commerce.db.normalise_url``) and same options as
``make_engine``, with ``pool_size = min(concurrency, budget)``, ``max_overflow=0`` and a long
``pool_timeout``. ``budget`` is ``max_connections - superuser_reserved_connections - connections
already open - 40`` (the 40 leaves the app's own pool, used by the inline outbox relay, and the
other users of a shared server room), capped at 60. On a default server (max_connections =
100) that is about 50: with 200 buyers, 150 queue for a connection, which is what a real
deployment with a bounded pool does, and that queueing is in the latencies. Each racer hands its
connection back before waiting at the barrier, so nobody holds one idle.

Jobs and SMS. The app is created with ``REDIS_URL=""`` and no Africa's Talking credentials, and
racer sessions come from the app's session factory (rebound to the bigger engine), so after each
order's commit the outbox relay runs inline and the SMS receipt is only logged: the figures
include that relay. The script stops by itself: the barrier, the pool and each level have
timeouts, racer threads are daemons.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, func, select, text, update  # noqa: E402

from commerce import carts, checkout  # noqa: E402
from commerce.customers import get_or_create_customer  # noqa: E402
from commerce.db import Base, normalise_url, upgrade_database  # noqa: E402
from commerce.demo import seed_demo_store  # noqa: E402
from commerce.errors import OutOfStock  # noqa: E402
from commerce.models import Order, OrderLine, Stock, Store, Variant  # noqa: E402
from wsgi import create_app  # noqa: E402

SKU = "MANA-BUNC"
LEVEL_TIMEOUT = 300  # seconds for one level's race, after which it is reported as errors
HEADROOM = 40  # connections left for the app's own pool and other users of the server
POOL_CAP = 60


def is_deadlock(error: BaseException) -> bool:
    for candidate in (error, getattr(error, "orig", None)):
        if candidate is not None and getattr(candidate, "sqlstate", None) in ("40P01", "40001"):
            return True
    return "deadlock detected" in str(error) or "could not serialize" in str(error)


def connection_budget(engine) -> int:
    with engine.connect() as conn:
        max_connections = int(conn.execute(text("SHOW max_connections")).scalar_one())
        reserved = int(conn.execute(text("SHOW superuser_reserved_connections")).scalar_one())
        in_use = int(conn.execute(text("SELECT count(*) FROM pg_stat_activity")).scalar_one())
    return max(5, min(POOL_CAP, max_connections - reserved - in_use - HEADROOM))


def wipe(engine) -> None:
    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def run_level(app, racer_engine, pool_size: int, concurrency: int, held: int) -> dict:
    session_factory = app.extensions["duka.db"]
    stock = concurrency // 5
    with session_factory() as db:
        store, _ = seed_demo_store(db)
        variant = db.scalar(select(Variant).where(Variant.store_id == store.id,
                                                  Variant.sku == SKU))
        db.execute(update(Stock).where(Stock.variant_id == variant.id)
                   .values(quantity=stock, reserved=0))
        db.commit()
        buyers = []
        for n in range(concurrency):
            customer = get_or_create_customer(db, store, f"+2547{concurrency:03d}{n:05d}")
            carts.do_add_to_cart(db, store, customer.id, variant.id, 1)
            buyers.append(customer.id)
        for customer_id in buyers[:min(held, stock)]:
            checkout.do_start_checkout(db, store, customer_id)
        orders_before = db.scalar(select(func.count(Order.id)))
        sold_before = int(db.scalar(select(func.coalesce(func.sum(OrderLine.quantity), 0))
                                    .where(OrderLine.variant_id == variant.id)))
        store_id, variant_id = store.id, variant.id

    started: list[float] = []
    barrier = threading.Barrier(concurrency, action=lambda: started.append(time.perf_counter()))
    outcomes: list[tuple[str, float] | None] = [None] * concurrency

    def buy(index: int, customer_id: int) -> None:
        t0 = None
        try:
            with session_factory(bind=racer_engine) as session:
                racer_store = session.get(Store, store_id)
                session.commit()  # hand the connection back before waiting
                barrier.wait(timeout=LEVEL_TIMEOUT)
                t0 = time.perf_counter()
                try:
                    checkout.do_place_order(session, racer_store, customer_id)
                    kind = "order"
                except OutOfStock:
                    kind = "out_of_stock"
        except Exception as error:  # noqa: BLE001 - counted, and the first few shown
            kind = "deadlock" if is_deadlock(error) else "error"
            if kind == "error":
                print(f"error: {error!r}"[:300], file=sys.stderr)
        elapsed = (time.perf_counter() - t0) * 1000 if t0 is not None else 0.0
        outcomes[index] = (kind, elapsed, time.perf_counter())

    threads = [threading.Thread(target=buy, args=(i, c), daemon=True)
               for i, c in enumerate(buyers)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + LEVEL_TIMEOUT + 30
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))

    finished = [o for o in outcomes if o is not None]
    counts = {kind: 0 for kind in ("order", "out_of_stock", "deadlock", "error")}
    for kind, _, _ in finished:
        counts[kind] += 1
    counts["error"] += concurrency - len(finished)  # still running at the deadline
    timed = [ms for kind, ms, _ in finished if ms]
    wall = (max(end for _, _, end in finished) - started[0]) if started and finished else 0.0
    q = statistics.quantiles(timed, n=100) if len(timed) >= 2 else [timed[0] if timed else 0] * 99

    with session_factory() as db:
        orders_placed = db.scalar(select(func.count(Order.id))) - orders_before
        sold = int(db.scalar(select(func.coalesce(func.sum(OrderLine.quantity), 0))
                             .where(OrderLine.variant_id == variant_id))) - sold_before
        on_hand, reserved = db.execute(
            select(func.sum(Stock.quantity), func.sum(Stock.reserved))
            .where(Stock.variant_id == variant_id)).one()
    return {
        "concurrency": concurrency, "stock": stock, "orders_placed": orders_placed,
        "units_oversold": max(0, sold - stock), "deadlocks": counts["deadlock"],
        "out_of_stock": counts["out_of_stock"], "errors": counts["error"],
        "checkouts_per_second": round(len(finished) / wall, 1) if wall else None,
        "p50_ms": round(q[49], 1), "p95_ms": round(q[94], 1),
        "pool_size": pool_size, "on_hand_after": int(on_hand), "reserved_after": int(reserved),
        "held": min(held, stock),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--levels", default="10,50,200")
    parser.add_argument("--held", type=int, default=0,
                        help="buyers whose units are held by do_start_checkout before the race")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "postgresql+")):
        sys.exit("DATABASE_URL must point at a throwaway PostgreSQL database")
    upgrade_database(url)
    app = create_app({"DATABASE_URL": url, "REDIS_URL": "", "AT_USERNAME": "",
                      "AT_API_KEY": ""})
    logging.disable(logging.WARNING)  # one "order placed" + logged SMS line per order
    wipe(app.extensions["duka.engine"])

    levels = [int(level) for level in args.levels.split(",")]
    budget = connection_budget(app.extensions["duka.engine"])
    for concurrency in levels:
        pool_size = min(concurrency, budget)
        racer_engine = create_engine(normalise_url(url), pool_pre_ping=True,
                                     pool_size=pool_size, max_overflow=0,
                                     pool_timeout=LEVEL_TIMEOUT)
        try:
            result = run_level(app, racer_engine, pool_size, concurrency, args.held)
        finally:
            racer_engine.dispose()
        print(json.dumps(result), flush=True)
    app.extensions["duka.engine"].dispose()


if __name__ == "__main__":
    main()
