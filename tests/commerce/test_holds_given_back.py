"""What a checkout held goes back on the shelf as soon as the cart no longer needs it, once:
never twice, not even beside the job that gives back lapsed holds."""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from commerce import cart_sync, carts, catalog, checkout, inventory
from commerce.customers import get_or_create_customer
from commerce.db import utcnow
from commerce.checkout import NoLongerSold
from commerce.models import PickupPoint, Reservation, Stock
from tests.conftest import TEST_DATABASE_URL
from tests.helpers import variant_by_sku

PHONE = "+254712345678"


@pytest.fixture
def held(db, store):
    """A shopper whose checkout holds all 3 Managu and a cabbage."""
    shopper = get_or_create_customer(db, store, PHONE)
    managu, cabbage = variant_by_sku(db, store, "MANA-BUNC"), variant_by_sku(db, store, "CABB")
    carts.do_add_to_cart(db, store, shopper.id, managu.id, 3)
    carts.do_add_to_cart(db, store, shopper.id, cabbage.id, 1)
    checkout.do_choose_pickup(db, store, shopper.id, db.scalar(select(PickupPoint.id)))
    checkout.do_start_checkout(db, store, shopper.id)
    assert inventory.available_quantity(db, store.id, managu.id) == 0
    return shopper, managu


def test_an_offline_sync_that_lowers_a_line_gives_the_holds_back(db, store, held):
    shopper, managu = held
    cart_sync.do_sync_cart(db, store, shopper.id, [
        cart_sync.LineChange("set", managu.id, 1, utcnow())], last_sync=None)
    assert inventory.available_quantity(db, store.id, managu.id) == 3


def test_an_item_taken_off_sale_mid_checkout_gives_its_hold_back(db, store, held):
    shopper, managu = held
    catalog.do_set_product_active(db, store, managu.product_id, False)
    with pytest.raises(NoLongerSold):
        checkout.do_place_order(db, store, shopper.id)
    assert db.scalar(select(Stock.reserved).where(Stock.variant_id == managu.id)) == 0


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="row locks need PostgreSQL (SQLite writes "
                                                  "one at a time, so there is no race)")
def test_a_hold_the_expiry_job_is_giving_back_is_not_given_back_twice(app, db, store, held):
    shopper, managu = held
    db.execute(update(Reservation).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.commit()
    failed: list[Exception] = []
    with app.extensions["duka.db"]() as job:  # as do_release_expired_reservations: holds first
        lapsed = job.scalars(select(Reservation).order_by(Reservation.stock_id)
                             .with_for_update(skip_locked=True)).all()

        def lower() -> None:  # the shopper takes two Managu off meanwhile
            with app.extensions["duka.db"]() as session:
                try:
                    carts.do_set_quantity(session, session.merge(store), shopper.id,
                                          managu.id, 1)
                except Exception as error:  # pragma: no cover - shown in the assertion
                    failed.append(error)

        shopper_hop = threading.Thread(target=lower)
        shopper_hop.start()
        shopper_hop.join(timeout=0.5)
        assert shopper_hop.is_alive()  # waiting for the holds the job has
        for reservation in lapsed:
            inventory._unreserve(job, reservation)
        job.commit()
    shopper_hop.join(timeout=30)
    assert failed == []  # was a deadlock, or reserved given back twice (below zero: refused)
    db.expire_all()
    assert db.scalars(select(Stock.reserved)).all() == [0] * len(db.scalars(
        select(Stock.id)).all())
    assert carts.view_cart(db, store, shopper.id).lines[0].quantity in (1, 3)


def test_a_sync_that_lowers_one_line_still_trims_the_next_to_what_there_is(db, store):
    shopper = get_or_create_customer(db, store, PHONE)
    managu, cabbage = variant_by_sku(db, store, "MANA-BUNC"), variant_by_sku(db, store, "CABB")
    carts.do_add_to_cart(db, store, shopper.id, cabbage.id, 3)
    carts.do_add_to_cart(db, store, shopper.id, managu.id, 2)  # of 3
    checkout.do_choose_pickup(db, store, shopper.id, db.scalar(select(PickupPoint.id)))
    checkout.do_start_checkout(db, store, shopper.id)
    now = utcnow()
    synced = cart_sync.do_sync_cart(db, store, shopper.id, [
        cart_sync.LineChange("set", cabbage.id, 1, now),  # gives the cart's holds back ...
        cart_sync.LineChange("set", managu.id, 5, now)], last_sync=None)
    # ... so Managu's 2 were counted twice, and it stayed at 2 instead of all there is
    assert {line.variant_id: line.quantity for line in synced.cart.lines} == {
        cabbage.id: 1, managu.id: 3}
    assert [(c.variant_id, c.reason, c.server_value) for c in synced.conflicts] == [
        (managu.id, "out_of_stock", 3)]
