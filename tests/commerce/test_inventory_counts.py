"""Merchant changes to stock as services: a count (``do_set_stock``) and an adjustment
(``do_adjust_stock``), each a movement in the audit trail and, falling to the threshold, an
``inventory.low_stock`` event, as every other change to stock."""
import threading

import pytest
from sqlalchemy import func, select

from commerce import carts, checkout, events, inventory
from commerce.customers import get_or_create_customer
from commerce.errors import InvalidQuantity, NotFound, OutOfStock
from commerce.models import Location, OutboxEvent, Stock, StockMovement
from tests.conftest import TEST_DATABASE_URL
from tests.helpers import on_hand, variant_by_sku


def low_stock_events(db) -> list[dict]:
    return db.scalars(select(OutboxEvent.payload).where(
        OutboxEvent.name == events.INVENTORY_LOW_STOCK).order_by(OutboxEvent.id)).all()


def movement_count(db) -> int:
    return db.scalar(select(func.count(StockMovement.id)))


def test_a_count_records_the_difference_as_a_movement(db, store):
    onions = variant_by_sku(db, store, "ONIO-1KG")  # 70 on hand
    shop = inventory.default_location(db, store.id)

    change = inventory.do_set_stock(db, store, onions.id, shop.id, 64, actor="staff:7",
                                    note="Monday count")

    assert (change.stock.variant_id, change.stock.location_id, change.stock.quantity) == \
        (onions.id, shop.id, 64)
    movement = change.movement
    assert (movement.stock_id, movement.delta, movement.quantity_after, movement.reason,
            movement.actor, movement.note, movement.order_id) == \
        (change.stock.id, -6, 64, "correction", "staff:7", "Monday count", None)
    assert [(m.id, m.delta) for m in inventory.movements(db, store.id, onions.id)] == \
        [(movement.id, -6)]
    assert on_hand(db, "ONIO-1KG") == 64
    assert low_stock_events(db) == []  # 64 is far above the threshold of 5

    up = inventory.do_set_stock(db, store, onions.id, shop.id, 100, reason="received")
    assert (up.movement.delta, up.movement.quantity_after, up.movement.reason) == \
        (36, 100, "received")


def test_a_count_down_to_the_threshold_records_low_stock_like_any_other_change(db, store):
    carrots = variant_by_sku(db, store, "CARR-1KG")  # 35 on hand, store threshold 5
    shop = inventory.default_location(db, store.id)

    inventory.do_set_stock(db, store, carrots.id, shop.id, 5)
    inventory.do_set_stock(db, store, carrots.id, shop.id, 3)  # already low: said once

    assert low_stock_events(db) == [
        {"variant_id": carrots.id, "sku": "CARR-1KG", "on_hand": 5, "threshold": 5}]
    assert [(m.delta, m.quantity_after) for m in inventory.movements(db, store.id, carrots.id)] \
        == [(-2, 3), (-30, 5)]


def test_a_count_that_matches_changes_nothing(db, store):
    cabbage = variant_by_sku(db, store, "CABB")  # 40 on hand
    shop = inventory.default_location(db, store.id)

    change = inventory.do_set_stock(db, store, cabbage.id, shop.id, 40, reason="received")

    assert (change.stock.quantity, change.movement) == (40, None)
    assert movement_count(db) == 0 and low_stock_events(db) == []


def test_a_count_at_a_new_location_makes_its_level(db, store):
    cabbage = variant_by_sku(db, store, "CABB")
    room = Location(store_id=store.id, name="Store room", kind="warehouse", position=1)
    db.add(room)
    db.commit()

    nothing = inventory.do_set_stock(db, store, cabbage.id, room.id, 0)
    assert (nothing.stock.quantity, nothing.movement) == (0, None)
    some = inventory.do_set_stock(db, store, cabbage.id, room.id, 12)

    db.expire_all()
    assert db.scalars(select(Stock.quantity).where(Stock.location_id == room.id)).all() == [12]
    assert (some.stock.id, some.movement.delta) == (nothing.stock.id, 12)
    assert on_hand(db, "CABB") == 52


def test_a_count_below_what_checkouts_hold_is_refused_and_changes_nothing(db, store):
    managu = variant_by_sku(db, store, "MANA-BUNC")  # 3 on hand
    shop = inventory.default_location(db, store.id)
    customer = get_or_create_customer(db, store, "+254712345678")
    carts.do_add_to_cart(db, store, customer.id, managu.id, 2)
    checkout.do_start_checkout(db, store, customer.id)  # holds 2

    with pytest.raises(OutOfStock):
        inventory.do_set_stock(db, store, managu.id, shop.id, 1)

    assert on_hand(db, "MANA-BUNC") == 3 and movement_count(db) == 0
    assert inventory.do_set_stock(db, store, managu.id, shop.id, 2).movement.delta == -1


@pytest.mark.parametrize("quantity, reason", [(-1, "correction"), (2.5, "correction"),
                                              (True, "correction"), ("7", "correction"),
                                              (7, "stolen")])
def test_a_bad_count_is_refused_and_changes_nothing(db, store, quantity, reason):
    cabbage = variant_by_sku(db, store, "CABB")
    shop = inventory.default_location(db, store.id)
    with pytest.raises(InvalidQuantity):
        inventory.do_set_stock(db, store, cabbage.id, shop.id, quantity, reason=reason)
    assert on_hand(db, "CABB") == 40 and movement_count(db) == 0


def test_another_stores_variant_or_location_cannot_be_counted(db, store):
    from commerce.stores import do_create_store

    other = do_create_store(db, "duka-ya-juma", "Duka ya Juma", "KES", "KE", "en", "en",
                            "Africa/Nairobi")
    theirs = Location(store_id=other.id, name="Juma's shelf")
    db.add(theirs)
    db.commit()
    cabbage = variant_by_sku(db, store, "CABB")
    shop = inventory.default_location(db, store.id)
    for store_, location in ((other, shop), (store, theirs)):
        with pytest.raises(NotFound):
            inventory.do_set_stock(db, store_, cabbage.id, location.id, 1)
    assert on_hand(db, "CABB") == 40 and movement_count(db) == 0


def test_an_adjustment_answers_with_its_movement(db, store):
    cabbage = variant_by_sku(db, store, "CABB")
    shop = inventory.default_location(db, store.id)
    change = inventory.do_adjust_stock(db, store, cabbage.id, shop.id, -36, "damaged",
                                       actor="amina")
    assert (change.stock.quantity, change.movement.delta, change.movement.quantity_after,
            change.movement.reason, change.movement.actor) == (4, -36, 4, "damaged", "amina")
    assert low_stock_events(db) == [
        {"variant_id": cabbage.id, "sku": "CABB", "on_hand": 4, "threshold": 5}]


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="row locks need PostgreSQL (SQLite writes "
                                                  "one at a time, so there is no race)")
def test_a_count_waits_for_a_sale_in_progress_and_takes_the_difference_after_it(
        app, db, store):
    """The count locks the row before taking the difference: read before the sale commits,
    the difference would be stale and the count would end wrong."""
    cabbage = variant_by_sku(db, store, "CABB")  # 40 on hand
    shop = inventory.default_location(db, store.id)
    counted: dict = {}
    with app.extensions["duka.db"]() as sale:
        inventory.adjust_stock(sale, store, cabbage.id, shop.id, -4, "damaged")  # row locked

        def count() -> None:
            with app.extensions["duka.db"]() as session:
                counted["change"] = inventory.do_set_stock(session, session.merge(store),
                                                           cabbage.id, shop.id, 30)

        counter = threading.Thread(target=count)
        counter.start()
        counter.join(timeout=0.5)
        assert counter.is_alive()  # waiting on the row
        sale.commit()  # 36 on hand now
    counter.join(timeout=30)
    assert (counted["change"].movement.delta, counted["change"].movement.quantity_after) == \
        (-6, 30)
    assert on_hand(db, "CABB") == 30


def test_an_order_calls_a_variant_low_only_when_all_its_locations_together_are(db, store):
    cabbage = variant_by_sku(db, store, "CABB")  # 40 in the shop, store threshold 5
    room = Location(store_id=store.id, name="Store room", kind="warehouse", position=1)
    db.add(room)
    db.commit()
    inventory.do_set_stock(db, store, cabbage.id, room.id, 10)
    customer = get_or_create_customer(db, store, "+254712345678")

    def order(quantity: int) -> None:
        carts.do_add_to_cart(db, store, customer.id, cabbage.id, quantity)
        checkout.do_start_checkout(db, store, customer.id)
        checkout.do_place_order(db, store, customer.id)

    order(36)  # the shop is down to 4, but the store room still has 10
    assert (on_hand(db, "CABB"), low_stock_events(db)) == (14, [])

    order(10)  # the shop's last 4 and 6 from the room: 4 in all
    assert on_hand(db, "CABB") == 4
    assert low_stock_events(db) == [
        {"variant_id": cabbage.id, "sku": "CABB", "on_hand": 4, "threshold": 5}]
