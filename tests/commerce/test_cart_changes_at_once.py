"""One shopper's cart changed by two hops at the same moment (PostgreSQL only): both changes
count. It happens when a shopper has the shop open on WhatsApp and on USSD, or taps twice on a
slow network and the second tap is a different choice.

Each change is a real thread with its own session. A third session holds the cart row locked
while both read, so both are certain to have started before either writes; then it lets go.
What would make these fail: a service that reads the cart's lines before it takes the cart's
row lock. It adds to (or orders) the lines as they were before the other change committed, and
that change is lost.
"""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from commerce import cart_sync, carts, checkout
from commerce.carts import Step
from commerce.customers import get_or_create_customer
from commerce.db import utcnow
from commerce.models import Cart, CartLine, Order, PickupPoint, Store
from tests.conftest import TEST_DATABASE_URL
from tests.helpers import variant_by_sku

pytestmark = pytest.mark.skipif(
    not TEST_DATABASE_URL,
    reason="row locks need PostgreSQL (SQLite writes one at a time, so there is no race)")

WAIT = 30  # seconds; a hung change fails instead of hanging the suite


def _waiting_on_locks(db) -> int:
    db.rollback()  # a fresh snapshot of pg_stat_activity
    return db.scalar(text("select count(*) from pg_stat_activity where wait_event_type = 'Lock'"
                          " and datname = current_database()"))


def _at_once(app, db, store, cart_id: int, *changes, meanwhile=None) -> list:
    """Run ``changes`` (each ``f(session, store)``) while the cart row is locked; let go once
    each is waiting for it. ``meanwhile(session, store)``: a change the lock's holder makes
    (as another channel would), committed as it lets go. Returns what each returned or
    raised."""
    factory, results = app.extensions["duka.db"], [None] * len(changes)

    def run(index: int, change) -> None:
        with factory() as session:
            try:
                results[index] = change(session, session.get(Store, store.id))
            except Exception as error:  # noqa: BLE001 - the assertion shows it
                results[index] = error

    with factory() as holder:
        holder.scalar(select(Cart).where(Cart.id == cart_id).with_for_update())
        if meanwhile is not None:
            meanwhile(holder, holder.get(Store, store.id))
        threads = [threading.Thread(target=run, args=(i, change), daemon=True)
                   for i, change in enumerate(changes)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + WAIT
        while _waiting_on_locks(db) < len(changes) and time.monotonic() < deadline:
            time.sleep(0.02)
        holder.commit()
    for thread in threads:
        thread.join(WAIT)
    assert not any(thread.is_alive() for thread in threads), "a change never finished"
    return results


@pytest.fixture
def shopper(db, store):
    customer = get_or_create_customer(db, store, "+254712345678")
    cabbage = variant_by_sku(db, store, "CABB")
    carts.do_add_to_cart(db, store, customer.id, cabbage.id, 1)
    cart = carts.get_active_cart(db, store.id, customer.id)
    db.commit()
    return customer.id, cabbage.id, cart.id


def _lines(db) -> list[tuple[int, int]]:
    db.expire_all()
    return [(line.variant_id, line.quantity) for line in db.scalars(
        select(CartLine).order_by(CartLine.id))]


def test_two_adds_of_the_same_item_at_once_both_count(app, db, store, shopper):
    customer_id, cabbage_id, cart_id = shopper
    results = _at_once(
        app, db, store, cart_id,
        # USSD, its hop numbered; SMS, unnumbered
        lambda s, st: carts.do_add_to_cart(s, st, customer_id, cabbage_id, 2, Step("ussd-1", 4)),
        lambda s, st: carts.do_add_to_cart(s, st, customer_id, cabbage_id, 3))
    assert [type(result).__name__ for result in results] == ["CartView", "CartView"]
    assert _lines(db) == [(cabbage_id, 6)]


def test_an_item_added_while_the_order_is_placed_is_in_the_order_or_in_a_new_cart(
        app, db, store, shopper):
    """Whichever goes first, the item added is never lost in an ordered cart."""
    customer_id, cabbage_id, cart_id = shopper
    onions = variant_by_sku(db, store, "ONIO-1KG").id
    checkout.do_start_checkout(db, store, customer_id)
    checkout.do_choose_pickup(db, store, customer_id, db.scalar(select(PickupPoint.id)))
    results = _at_once(
        app, db, store, cart_id,
        lambda s, st: carts.do_add_to_cart(s, st, customer_id, onions, 2),
        lambda s, st: checkout.do_place_order(s, st, customer_id, cart_id))
    assert [type(result).__name__ for result in results] == ["CartView", "Order"]
    db.expire_all()
    ordered = {line.variant_id: line.quantity for line in db.scalar(select(Order)).lines}
    active = carts.get_active_cart(db, store.id, customer_id)
    left = {line.variant_id: line.quantity for line in active.lines} if active else {}
    assert (ordered, left) in [({cabbage_id: 1, onions: 2}, {}),
                               ({cabbage_id: 1}, {onions: 2})]


def test_checkout_started_while_the_order_is_placed_does_not_deadlock(app, db, store, shopper):
    """Both take the cart row first, then the stock: one waits for the other."""
    customer_id, _, cart_id = shopper
    checkout.do_start_checkout(db, store, customer_id)
    checkout.do_choose_pickup(db, store, customer_id, db.scalar(select(PickupPoint.id)))
    results = _at_once(
        app, db, store, cart_id,
        lambda s, st: checkout.do_place_order(s, st, customer_id, cart_id),
        lambda s, st: checkout.do_start_checkout(s, st, customer_id))
    # Checkout after the order finds the cart ordered: "Your cart is empty."
    assert type(results[0]).__name__ == "Order"
    assert type(results[1]).__name__ in ("Totals", "EmptyCart"), repr(results[1])


def test_a_change_after_a_screen_read_the_cart_adds_to_the_cart_as_it_is_now(
        app, db, store, shopper):
    """A hop reads the cart for its screen, another channel changes it, then the hop changes
    it: the change starts from the cart as committed, not as the screen read it."""
    customer_id, cabbage_id, _ = shopper
    with app.extensions["duka.db"]() as hop:
        hop_store = hop.get(Store, store.id)
        assert carts.get_active_cart(hop, store.id, customer_id).lines[0].quantity == 1
        carts.do_add_to_cart(db, store, customer_id, cabbage_id, 3)  # on WhatsApp, meanwhile
        view = carts.do_add_to_cart(hop, hop_store, customer_id, cabbage_id, 2, Step("u", 3))
    assert [line.quantity for line in view.lines] == [6]
    assert _lines(db) == [(cabbage_id, 6)]


# -- the Merchant API's offline cart sync ------------------------------------------------------
def _changed_meanwhile(customer_id: int, variant_id: int, quantity: int):
    """Another channel sets a line (0 removes it), inside the lock's holder: as a service
    does, but committed only when the holder lets go."""
    def change(session, store) -> None:
        cart = carts.lock_active_cart(session, store.id, customer_id)
        carts.set_line(session, store, cart, variant_id, quantity)
        session.flush()
    return change


def _sync(customer_id: int, *changes: cart_sync.LineChange):
    return lambda s, st: cart_sync.do_sync_cart(s, st, customer_id, list(changes), None)


def test_a_sync_after_another_channel_removed_the_line_sets_it_again(
        app, db, store, shopper):
    """The app set 3 cabbages, a change later than the other channel's removal: 3 cabbages.
    Deciding from the cart as read before the removal, it set a line no longer there."""
    customer_id, cabbage_id, cart_id = shopper
    later = utcnow() + timedelta(minutes=5)
    [synced] = _at_once(app, db, store, cart_id,
                        _sync(customer_id, cart_sync.LineChange("set", cabbage_id, 3, later)),
                        meanwhile=_changed_meanwhile(customer_id, cabbage_id, 0))
    assert type(synced).__name__ == "CartSynced", repr(synced)
    assert synced.conflicts == []
    assert [(line.variant_id, line.quantity) for line in synced.cart.lines] == [(cabbage_id, 3)]
    assert _lines(db) == [(cabbage_id, 3)]


def test_a_sync_setting_a_line_another_channel_just_added_sets_it_rather_than_adding(
        app, db, store, shopper):
    """The app set 2 onions, later than the other channel added 1: 2 onions, not 3."""
    customer_id, cabbage_id, cart_id = shopper
    onions = variant_by_sku(db, store, "ONIO-1KG").id
    later = utcnow() + timedelta(minutes=5)
    [synced] = _at_once(app, db, store, cart_id,
                        _sync(customer_id, cart_sync.LineChange("set", onions, 2, later)),
                        meanwhile=_changed_meanwhile(customer_id, onions, 1))
    assert type(synced).__name__ == "CartSynced", repr(synced)
    assert synced.conflicts == []
    assert _lines(db) == [(cabbage_id, 1), (onions, 2)]


def test_a_sync_older_than_another_channels_change_at_that_moment_leaves_it(
        app, db, store, shopper):
    """The app's change was made before the other channel's: the server's wins, and says so."""
    customer_id, cabbage_id, cart_id = shopper
    earlier = utcnow() - timedelta(minutes=5)
    [synced] = _at_once(app, db, store, cart_id,
                        _sync(customer_id, cart_sync.LineChange("set", cabbage_id, 3, earlier)),
                        meanwhile=_changed_meanwhile(customer_id, cabbage_id, 4))
    assert synced.conflicts == [cart_sync.SyncConflict(cabbage_id, "quantity", "server_newer",
                                                       3, 4)]
    assert _lines(db) == [(cabbage_id, 4)]
