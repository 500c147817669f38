"""What one SQL statement costs the app's CPU through each layer: ORM, SQLAlchemy Core, psycopg.

    .venv/bin/python bench/sql_layers.py [--statements 1500]

Same throwaway PostgreSQL as ``bench/ussd_load.py`` (``DATABASE_URL``, default ``duka_bench``:
schema DROPPED and rebuilt, demo store seeded; ``REDIS_URL`` is flushed too). Statements a USSD
hop runs: reading a cart by id (without its lines), inserting a stock movement (rolled back) and
taking an order number (rolled back). Each is sent ``--statements`` times, ten to a connection or
session as a hop would:

* the read and the insert through the ORM (``session.scalar(select(Cart)...)``,
  ``session.add(...)`` + ``flush()``), through SQLAlchemy Core on the same tables
  (``connection.execute(select(table)...)``) and through psycopg's cursor with the SQL written
  out; the read also with the statement built once, only its parameters changing
  (``*_built_read``);
* the order number's UPDATE, built once, through the ORM's session (its bulk-UPDATE path) and as
  Core on the session's connection (``*_built_update``).

Prints one JSON line: CPU microseconds per statement (``time.process_time``, this process only:
the server's CPU is not in it), per way, per round (two rounds, so drift on a shared machine
shows).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import bindparam, insert, select  # noqa: E402
from sqlalchemy.orm import lazyload  # noqa: E402

from ussd_load import DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL, prepare  # noqa: E402

PER_CONNECTION = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--statements", type=int, default=1500)
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    prepare(database_url, os.environ.get("REDIS_URL", DEFAULT_REDIS_URL))

    from commerce.carts import do_add_to_cart
    from commerce.customers import get_or_create_customer
    from commerce.db import make_engine, make_session_factory
    from commerce.models import Cart, Stock, StockMovement, Store

    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    with factory() as session:
        store = session.scalars(select(Store)).first()
        stock = session.scalars(select(Stock).where(Stock.store_id == store.id)).first()
        customer = get_or_create_customer(session, store, "+254700000999")
        cart = do_add_to_cart(session, store, customer.id, stock.variant_id, 1)
        store_id, stock_id, cart_id = store.id, stock.id, cart.cart_id
    carts, movements = Cart.__table__, StockMovement.__table__
    movement = dict(store_id=store_id, stock_id=stock_id, delta=0, quantity_after=0,
                    reason="sold", note="", actor="bench")

    def orm_read():
        with factory() as session:
            for _ in range(PER_CONNECTION):
                session.scalar(select(Cart).options(lazyload(Cart.lines))
                               .where(Cart.id == cart_id, Cart.store_id == store_id))
                session.expunge_all()  # as a new hop would: nothing in the identity map

    built_orm_read = (select(Cart).options(lazyload(Cart.lines))
                      .where(Cart.id == bindparam("cart_id"),
                             Cart.store_id == bindparam("store_id")))

    def orm_built_read():  # the statement built once; only its parameters change
        with factory() as session:
            for _ in range(PER_CONNECTION):
                session.scalar(built_orm_read, {"cart_id": cart_id, "store_id": store_id})
                session.expunge_all()

    def core_read():
        with engine.connect() as connection:
            for _ in range(PER_CONNECTION):
                connection.execute(select(carts).where(carts.c.id == cart_id,
                                                       carts.c.store_id == store_id)).first()

    built_read = select(carts).where(carts.c.id == bindparam("cart_id"),
                                     carts.c.store_id == bindparam("store_id"))

    def core_built_read():  # the statement built once; only its parameters change
        with engine.connect() as connection:
            for _ in range(PER_CONNECTION):
                connection.execute(built_read, {"cart_id": cart_id, "store_id": store_id}).first()

    def psycopg_read():
        with engine.connect() as connection:
            cursor = connection.connection.driver_connection.cursor()
            for _ in range(PER_CONNECTION):
                cursor.execute("SELECT * FROM carts WHERE id = %s AND store_id = %s",
                               (cart_id, store_id))
                cursor.fetchone()

    def orm_insert():
        with factory() as session:
            for _ in range(PER_CONNECTION):
                session.add(StockMovement(**movement))
                session.flush()
            session.rollback()

    def core_insert():
        with engine.connect() as connection:
            for _ in range(PER_CONNECTION):
                connection.execute(insert(movements).values(**movement)
                                   .returning(movements.c.id)).scalar_one()
            connection.rollback()

    def psycopg_insert():
        with engine.connect() as connection:
            cursor = connection.connection.driver_connection.cursor()
            for _ in range(PER_CONNECTION):
                cursor.execute(
                    "INSERT INTO stock_movements (store_id, stock_id, delta, quantity_after, "
                    "reason, note, actor, created_at) VALUES (%(store_id)s, %(stock_id)s, "
                    "%(delta)s, %(quantity_after)s, %(reason)s, %(note)s, %(actor)s, now()) "
                    "RETURNING id", movement)
                cursor.fetchone()
            connection.rollback()

    from commerce.checkout import _TAKE_ORDER_NUMBER  # an UPDATE built once, run as Core

    def orm_built_update():  # the same statement through the ORM's bulk-UPDATE path
        with factory() as session:
            for _ in range(PER_CONNECTION):
                session.execute(_TAKE_ORDER_NUMBER, {"store_id": store_id}).scalar_one()
            session.rollback()

    def core_built_update():
        with factory() as session:
            for _ in range(PER_CONNECTION):
                session.connection().execute(_TAKE_ORDER_NUMBER,
                                             {"store_id": store_id}).scalar_one()
            session.rollback()

    ways = [orm_read, orm_built_read, core_read, core_built_read, psycopg_read, orm_insert,
            core_insert, psycopg_insert, orm_built_update, core_built_update]
    rounds = []
    for _ in range(2):
        figures = {}
        for way in ways:
            for _ in range(20):  # warm-up: compiled-statement caches, prepared statements
                way()
            started = time.process_time()
            for _ in range(max(args.statements // PER_CONNECTION, 1)):
                way()
            spent = time.process_time() - started
            figures[way.__name__] = round(spent / args.statements * 1e6)
        rounds.append(figures)
    print(json.dumps({"statements": args.statements, "cpu_us_per_statement": rounds}))
    engine.dispose()


if __name__ == "__main__":
    main()
