"""Checkout under real concurrency (PostgreSQL only): it never oversells and never deadlocks.

Each racer is a real thread with its own session from the app's session factory, released
together by a ``threading.Barrier``. SQLite serialises writers on a file lock, so these races
prove nothing there and are skipped.

What would make them fail:
- a read-then-write reservation (read ``available``, then write ``reserved``) lets several
  racers see the same last units: more orders than stock, or a CHECK violation (an error);
- dropping the cart row lock (``FOR UPDATE``) lets a double-tapped confirm reserve the cart's
  stock a second time: on the last units the second tap is told "sold out" for an order that
  was placed;
- locking stock rows in cart order instead of one global order makes two carts holding the
  same two variants in opposite order deadlock (the timing hook below widens that window);
- taking the store's order-number row and the stock rows in different orders on different
  paths deadlocks a checkout that already holds its stock against one that does not.
"""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import event, func, select, update

from commerce import carts, checkout
from commerce.customers import get_or_create_customer
from commerce.errors import OutOfStock
from commerce.models import Order, OrderLine, Reservation, Stock, Store
from tests.conftest import TEST_DATABASE_URL
from tests.helpers import variant_by_sku

pytestmark = pytest.mark.skipif(
    not TEST_DATABASE_URL,
    reason="concurrency races need PostgreSQL row locks: set TEST_DATABASE_URL "
           "(SQLite serialises all writers, so a race there proves nothing)")

RACE_TIMEOUT = 120  # seconds; a hung race fails instead of hanging the suite


# -- helpers -------------------------------------------------------------------------------------
def _is_deadlock(error: BaseException) -> bool:
    """A PostgreSQL deadlock (40P01) or serialization failure (40001), however wrapped."""
    for candidate in (error, getattr(error, "orig", None)):
        if candidate is not None and getattr(candidate, "sqlstate", None) in ("40P01", "40001"):
            return True
    return "deadlock detected" in str(error) or "could not serialize" in str(error)


def _race(app, store_id: int, calls) -> list[tuple[str, object]]:
    """Run ``calls`` (each ``f(session, store) -> Order``) in threads released at once.

    Returns, per call, ``("order", order_id)``, ``("out_of_stock", OutOfStock)``,
    ``("deadlock", error)`` or ``("error", error)``.
    """
    session_factory = app.extensions["duka.db"]
    barrier = threading.Barrier(len(calls))
    outcomes: list[tuple[str, object] | None] = [None] * len(calls)

    def run(index: int, call) -> None:
        try:
            with session_factory() as session:
                store = session.get(Store, store_id)
                session.commit()  # hands the connection back: nobody holds one at the barrier
                barrier.wait(timeout=RACE_TIMEOUT)
                try:
                    outcomes[index] = ("order", call(session, store).id)
                except OutOfStock as error:
                    outcomes[index] = ("out_of_stock", error)
        except Exception as error:  # noqa: BLE001 - every other outcome is a finding
            outcomes[index] = ("deadlock" if _is_deadlock(error) else "error", error)

    threads = [threading.Thread(target=run, args=(i, call), daemon=True)
               for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + RACE_TIMEOUT
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), "the race did not finish"
    return outcomes


def _kinds(outcomes) -> dict[str, int]:
    counted: dict[str, int] = {}
    for kind, _ in outcomes:
        counted[kind] = counted.get(kind, 0) + 1
    return counted


def _problems(outcomes) -> list[str]:
    return [f"{kind}: {value!r}" for kind, value in outcomes if kind in ("deadlock", "error")]


def _set_stock(db, variant_id: int, quantity: int) -> None:
    db.execute(update(Stock).where(Stock.variant_id == variant_id)
               .values(quantity=quantity, reserved=0))
    db.commit()


def _stock(db, variant_id: int) -> tuple[int, int]:
    """(on hand, reserved) for a variant, read fresh."""
    db.expire_all()
    quantity, reserved = db.execute(
        select(func.sum(Stock.quantity), func.sum(Stock.reserved))
        .where(Stock.variant_id == variant_id)).one()
    return int(quantity), int(reserved)


def _units_sold(db, variant_id: int) -> int:
    return int(db.scalar(select(func.coalesce(func.sum(OrderLine.quantity), 0))
                         .where(OrderLine.variant_id == variant_id)))


def _customers(db, store, count: int, prefix: str):
    return [get_or_create_customer(db, store, f"+2547{prefix}{n:05d}") for n in range(count)]


def _place(customer_id: int, cart_id: int | None = None):
    return lambda session, store: checkout.do_place_order(session, store, customer_id,
                                                          cart_id=cart_id)


@pytest.fixture
def slow_stock_updates(app):
    """Sleep briefly after every stock UPDATE in racing threads, so that a lock taken in the
    wrong order meets the other racer's lock almost every time (timing only, no semantics)."""
    engine = app.extensions["duka.engine"]
    main = threading.main_thread()

    def pause(conn, cursor, statement, parameters, context, executemany):
        if threading.current_thread() is not main and statement.lstrip().upper().startswith(
                "UPDATE STOCKS"):
            time.sleep(0.02)

    event.listen(engine, "after_cursor_execute", pause)
    yield
    event.remove(engine, "after_cursor_execute", pause)


# -- the races -----------------------------------------------------------------------------------
def test_fifty_buyers_racing_for_the_last_ten_units_make_exactly_ten_orders(db, store, app):
    managu = variant_by_sku(db, store, "MANA-BUNC")
    _set_stock(db, managu.id, 10)
    buyers = _customers(db, store, 50, "10")
    for buyer in buyers:  # each put one in the cart while there were ten
        carts.do_add_to_cart(db, store, buyer.id, managu.id, 1)

    outcomes = _race(app, store.id, [_place(buyer.id) for buyer in buyers])

    assert _problems(outcomes) == []  # no deadlock, no serialization failure, no other error
    assert _kinds(outcomes) == {"order": 10, "out_of_stock": 40}
    placed = {value for kind, value in outcomes if kind == "order"}
    assert len(placed) == 10
    assert db.scalar(select(func.count(Order.id)).where(Order.store_id == store.id)) == 10
    assert _units_sold(db, managu.id) == 10  # 0 oversold
    assert _stock(db, managu.id) == (0, 0)  # nothing on hand, nothing left held
    assert db.scalar(select(func.count(Reservation.id))) == 0
    for kind, error in outcomes:
        if kind == "out_of_stock":
            assert error.code == "out_of_stock"
            assert error.message == "Sorry, Managu bunch is sold out."
    numbers = sorted(db.scalars(select(Order.number).where(Order.store_id == store.id)))
    assert numbers == list(range(1001, 1011))  # no number used twice or skipped


@pytest.mark.parametrize("pass_cart_id", [True, False], ids=["cart_id", "customers_cart"])
def test_a_cart_confirmed_from_ten_taps_at_once_becomes_one_order(db, store, app,
                                                                   pass_cart_id):
    managu = variant_by_sku(db, store, "MANA-BUNC")
    _set_stock(db, managu.id, 3)
    buyer = get_or_create_customer(db, store, "+254712345678")
    carts.do_add_to_cart(db, store, buyer.id, managu.id, 3)  # every last unit
    cart_id = carts.get_active_cart(db, store.id, buyer.id).id

    outcomes = _race(app, store.id,
                     [_place(buyer.id, cart_id if pass_cart_id else None)] * 10)

    # every tap is answered with the one order: none is told "sold out" by its own order
    assert _problems(outcomes) == []
    assert _kinds(outcomes) == {"order": 10}
    assert len({value for _, value in outcomes}) == 1
    assert db.scalar(select(func.count(Order.id))) == 1
    assert _units_sold(db, managu.id) == 3
    assert _stock(db, managu.id) == (0, 0)  # taken once


def test_carts_holding_the_same_two_variants_in_opposite_order_never_deadlock(
        db, store, app, slow_stock_updates):
    tomatoes, onions = variant_by_sku(db, store, "TOMA-1KG"), variant_by_sku(db, store, "ONIO-1KG")
    _set_stock(db, tomatoes.id, 1000)
    _set_stock(db, onions.id, 1000)
    first, second = _customers(db, store, 2, "20")
    rounds = 15
    for _ in range(rounds):
        carts.do_add_to_cart(db, store, first.id, tomatoes.id, 1)  # tomatoes, then onions
        carts.do_add_to_cart(db, store, first.id, onions.id, 1)
        carts.do_add_to_cart(db, store, second.id, onions.id, 1)  # onions, then tomatoes
        carts.do_add_to_cart(db, store, second.id, tomatoes.id, 1)

        outcomes = _race(app, store.id, [_place(first.id), _place(second.id)])

        assert _problems(outcomes) == []
        assert _kinds(outcomes) == {"order": 2}
    assert db.scalar(select(func.count(Order.id))) == 2 * rounds
    assert _stock(db, tomatoes.id) == (1000 - 2 * rounds, 0)
    assert _stock(db, onions.id) == (1000 - 2 * rounds, 0)


def test_buyers_who_already_hold_their_stock_and_buyers_who_do_not_never_deadlock(
        db, store, app, slow_stock_updates):
    """Half the buyers ran ``do_start_checkout`` (their units are held), half go straight to
    confirm (their units are reserved inside ``do_place_order``); there is stock for all."""
    managu = variant_by_sku(db, store, "MANA-BUNC")
    _set_stock(db, managu.id, 20)
    buyers = _customers(db, store, 20, "30")
    for n, buyer in enumerate(buyers):
        carts.do_add_to_cart(db, store, buyer.id, managu.id, 1)
        if n % 2 == 0:
            checkout.do_start_checkout(db, store, buyer.id)
    assert _stock(db, managu.id) == (20, 10)

    outcomes = _race(app, store.id, [_place(buyer.id) for buyer in buyers])

    assert _problems(outcomes) == []
    assert _kinds(outcomes) == {"order": 20}
    assert _units_sold(db, managu.id) == 20
    assert _stock(db, managu.id) == (0, 0)
