from datetime import timedelta

import pytest
from sqlalchemy import func, select

from commerce import carts, events, inventory
from commerce.customers import get_or_create_customer
from commerce.db import utcnow
from commerce.errors import InvalidQuantity, OutOfStock
from commerce.models import Location, OutboxEvent, Reservation, Stock, StockMovement
from tests.helpers import on_hand, variant_by_sku


@pytest.fixture
def cart_id(db, store):
    customer = get_or_create_customer(db, store, "+254712345678")
    carts.do_add_to_cart(db, store, customer.id, variant_by_sku(db, store, "CABB").id, 1)
    return carts.get_active_cart(db, store.id, customer.id).id


def test_a_reservation_holds_stock_until_it_expires_then_the_job_gives_it_back(
        db, store, cart_id):
    cabbage = variant_by_sku(db, store, "CABB")  # 40 on hand
    expires = inventory.reserve_stock(db, store, cart_id, {cabbage.id: 3})
    db.commit()

    assert expires - utcnow() <= timedelta(minutes=15)
    assert inventory.available_quantity(db, store.id, cabbage.id) == 37
    assert inventory.held_for_cart(db, store.id, cart_id) == {cabbage.id: 3}

    assert inventory.do_release_expired_reservations(db, now=utcnow()) == 0
    assert inventory.do_release_expired_reservations(db, now=expires + timedelta(seconds=1)) == 1
    assert inventory.available_quantity(db, store.id, cabbage.id) == 40
    assert db.scalar(select(func.count(Reservation.id))) == 0
    assert on_hand(db, "CABB") == 40  # a released hold never touched what is on hand


def test_reserving_again_replaces_the_carts_earlier_hold(db, store, cart_id):
    cabbage = variant_by_sku(db, store, "CABB")
    inventory.reserve_stock(db, store, cart_id, {cabbage.id: 3})
    inventory.reserve_stock(db, store, cart_id, {cabbage.id: 5})
    db.commit()
    assert inventory.available_quantity(db, store.id, cabbage.id) == 35


def test_a_hold_that_cannot_be_covered_holds_nothing(db, store, cart_id):
    cabbage, managu = variant_by_sku(db, store, "CABB"), variant_by_sku(db, store, "MANA-BUNC")
    with pytest.raises(OutOfStock) as error:
        inventory.reserve_stock(db, store, cart_id, {cabbage.id: 2, managu.id: 4})
    assert error.value.message == "Sorry, only 3 Managu bunch left."
    assert db.scalar(select(func.sum(Stock.reserved))) == 0
    assert db.scalar(select(func.count(Reservation.id))) == 0


def test_stock_in_two_locations_is_sold_from_the_first_then_the_next(db, store, cart_id):
    managu = variant_by_sku(db, store, "MANA-BUNC")  # 3 in the shop
    store_room = Location(store_id=store.id, name="Store room", kind="warehouse", position=1)
    db.add(store_room)
    db.flush()
    inventory.adjust_stock(db, store, managu.id, store_room.id, 4, "received", actor="amina")
    db.commit()

    inventory.reserve_stock(db, store, cart_id, {managu.id: 5})
    db.commit()

    held = dict(db.execute(select(Location.name, Stock.reserved)
                           .join(Stock, Stock.location_id == Location.id)
                           .where(Stock.variant_id == managu.id)).all())
    assert held == {"Kawangware shop": 3, "Store room": 2}


def test_adjustments_are_audited_with_who_and_why(db, store):
    cabbage = variant_by_sku(db, store, "CABB")
    shop = inventory.default_location(db, store.id)
    inventory.do_adjust_stock(db, store, cabbage.id, shop.id, 10, "received", actor="amina",
                              note="Market delivery")
    inventory.do_adjust_stock(db, store, cabbage.id, shop.id, -2, "damaged", actor="amina")

    trail = [(m.delta, m.quantity_after, m.reason, m.actor, m.note)
             for m in inventory.movements(db, store.id, cabbage.id)]
    assert trail == [(-2, 48, "damaged", "amina", ""),
                     (10, 50, "received", "amina", "Market delivery")]


@pytest.mark.parametrize("delta, reason", [(0, "received"), (2.5, "received"), (3, "stolen")])
def test_bad_adjustments_are_refused_and_change_nothing(db, store, delta, reason):
    cabbage = variant_by_sku(db, store, "CABB")
    shop = inventory.default_location(db, store.id)
    with pytest.raises(InvalidQuantity):
        inventory.do_adjust_stock(db, store, cabbage.id, shop.id, delta, reason)
    assert on_hand(db, "CABB") == 40
    assert db.scalar(select(func.count(StockMovement.id))) == 0


def test_units_held_by_a_checkout_cannot_be_adjusted_away(db, store, cart_id):
    managu = variant_by_sku(db, store, "MANA-BUNC")
    inventory.reserve_stock(db, store, cart_id, {managu.id: 2})
    db.commit()
    shop = inventory.default_location(db, store.id)
    with pytest.raises(OutOfStock):
        inventory.do_adjust_stock(db, store, managu.id, shop.id, -2, "damaged")
    assert on_hand(db, "MANA-BUNC") == 3


def test_falling_to_the_threshold_records_low_stock_once(db, store):
    cabbage = variant_by_sku(db, store, "CABB")  # 40 on hand, store threshold 5
    shop = inventory.default_location(db, store.id)
    inventory.do_adjust_stock(db, store, cabbage.id, shop.id, -30, "correction")
    inventory.do_adjust_stock(db, store, cabbage.id, shop.id, -5, "correction")  # 5: crosses
    inventory.do_adjust_stock(db, store, cabbage.id, shop.id, -1, "correction")  # already low

    low = db.scalars(select(OutboxEvent.payload)
                     .where(OutboxEvent.name == events.INVENTORY_LOW_STOCK)).all()
    assert low == [{"variant_id": cabbage.id, "sku": "CABB", "on_hand": 5, "threshold": 5}]


def test_another_stores_variant_cannot_be_adjusted(db, store):
    from commerce.errors import NotFound
    from commerce.models import Store

    other = Store(slug="other", name="Other", currency="KES", country="KE")
    db.add(other)
    db.commit()
    shop = inventory.default_location(db, store.id)
    with pytest.raises(NotFound):
        inventory.do_adjust_stock(db, other, variant_by_sku(db, store, "CABB").id, shop.id, 5,
                                  "received")
    assert on_hand(db, "CABB") == 40
