"""The floor: the least a USSD purchase can cost on Duka's stack (`ussd_load.py --floor`).

    gunicorn --chdir bench -w 5 -k gthread --threads 2 floor_app:app   # DATABASE_URL, REDIS_URL

The bare endpoint (``bare_app.py``) returns a constant menu and keeps no state, so it says what
Flask and gunicorn cost. This app does, per hop, only what any stateful USSD purchase must do on
the design card's stack, each part in its cheapest form:

* read the form (as the bare app);
* one Redis round trip that takes the session's lock and reads its state, one that writes the
  state back (with a TTL) and lets the lock go, as Duka's sessions do;
* one PostgreSQL transaction through SQLAlchemy Core (no ORM) with statements built once: a
  read of one stock row on every hop; on the last hop (the order) the stock row decremented, an
  order and its line inserted, in the same transaction;
* a constant screen: ``CON`` until the journey's last input, then ``END``.

No dialog, no store or customer, no cart, no events, no rendering, no rate limit. Its tables
(``floor_*``) live in the bench's throwaway database; ``create_tables`` makes them. A journey
is ``JOURNEY_LENGTH`` inputs after the dial, like ``ussd_load.JOURNEY``.
"""
from __future__ import annotations

import json
import os

from flask import Flask, Response, request
from redis import Redis
from sqlalchemy import (BigInteger, Column, Integer, MetaData, String, Table, create_engine,
                        insert, select, update)

from bare_app import healthz, unreadable

JOURNEY_LENGTH = int(os.environ.get("FLOOR_JOURNEY_LENGTH", 6))
SESSION_TTL_S = 600
LOCK_MS = 10_000

metadata = MetaData()
stock = Table("floor_stock", metadata, Column("id", Integer, primary_key=True),
              Column("quantity", BigInteger, nullable=False))
orders = Table("floor_orders", metadata, Column("id", Integer, primary_key=True),
               Column("phone", String(20), nullable=False))
order_lines = Table("floor_order_lines", metadata, Column("id", Integer, primary_key=True),
                    Column("order_id", Integer, nullable=False),
                    Column("quantity", Integer, nullable=False))

READ_STOCK = select(stock.c.quantity).where(stock.c.id == 1)
SELL_ONE = update(stock).where(stock.c.id == 1).values(quantity=stock.c.quantity - 1)
PLACE_ORDER = insert(orders).returning(orders.c.id)
ADD_LINE = insert(order_lines)


def engine_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def create_tables(database_url: str) -> None:
    engine = create_engine(engine_url(database_url))
    try:
        metadata.drop_all(engine)
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(insert(stock).values(id=1, quantity=100_000_000))
    finally:
        engine.dispose()


app = Flask(__name__)
engine = create_engine(engine_url(os.environ["DATABASE_URL"]), pool_size=10, max_overflow=20)
redis = Redis.from_url(os.environ["REDIS_URL"], socket_timeout=5)


@app.post("/channels/ussd/africastalking")
def africastalking_hop() -> Response:
    form = request.form
    if refused := unreadable(form):  # as the bare app
        return refused
    key = "floor:session:" + form["sessionId"]
    token = os.urandom(8).hex()
    with redis.pipeline(transaction=False) as pipe:  # round trip 1: lock and read
        pipe.set(key + ":lock", token, nx=True, px=LOCK_MS)
        pipe.get(key)
        locked, raw = pipe.execute()
    if not locked:
        return Response("END Please wait for the last screen and try again.",
                        mimetype="text/plain")
    state = json.loads(raw) if raw else {"hops": 0}
    text = form["text"]
    inputs = len(text.split("*")) if text else 0
    with engine.begin() as conn:
        left = conn.execute(READ_STOCK).scalar_one()
        if inputs >= JOURNEY_LENGTH:
            conn.execute(SELL_ONE)
            order_id = conn.execute(PLACE_ORDER, {"phone": form["phoneNumber"]}).scalar_one()
            conn.execute(ADD_LINE, {"order_id": order_id, "quantity": 1})
    state["hops"] += 1
    with redis.pipeline(transaction=False) as pipe:  # round trip 2: write and unlock
        pipe.set(key, json.dumps(state), ex=SESSION_TTL_S)
        pipe.delete(key + ":lock")  # a lock outlived by its TTL is not checked: a floor
        pipe.execute()
    if inputs >= JOURNEY_LENGTH:
        return Response(f"END Asante! Order #{order_id} is placed.", mimetype="text/plain")
    return Response(f"CON Step {inputs + 1}, {left} left\n1. Next\n0. Back",
                    mimetype="text/plain")


app.get("/healthz")(healthz)
