from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from commerce import carts, checkout, events
from commerce.customers import get_or_create_customer
from commerce.db import remember_for_transaction, utcnow
from commerce.errors import NotFound, OutOfStock
from commerce.models import Cart, OutboxEvent, Variant
from tests.helpers import variant_by_sku

PHONE = "+254712345678"


@pytest.fixture
def customer(db, store):
    return get_or_create_customer(db, store, PHONE)


def test_the_same_customer_has_one_cart_on_every_channel(db, store, customer):
    carts.do_add_to_cart(db, store, customer.id, variant_by_sku(db, store, "CABB").id, 1)
    again = get_or_create_customer(db, store, PHONE)  # e.g. the same number on WhatsApp
    view = carts.do_add_to_cart(db, store, again.id, variant_by_sku(db, store, "CABB").id, 2)
    assert [(ln.title, ln.quantity) for ln in view.lines] == [("Cabbage", 3)]
    assert db.scalar(select(func.count(Cart.id))) == 1


def test_a_guest_cart_merges_into_the_customers_cart_when_they_give_their_number(
        db, store, customer):
    cabbage, onions = variant_by_sku(db, store, "CABB"), variant_by_sku(db, store, "ONIO-1KG")
    carts.do_add_to_cart(db, store, customer.id, cabbage.id, 1)
    guest = carts.do_create_guest_cart(db, store)
    carts.do_add_to_guest_cart(db, store, guest.guest_token, cabbage.id, 2)
    carts.do_add_to_guest_cart(db, store, guest.guest_token, onions.id, 1)

    view = carts.do_merge_guest_cart(db, store, guest.guest_token, customer.id)

    assert [(ln.title, ln.quantity) for ln in view.lines] == [("Cabbage", 3), ("Onions 1kg", 1)]
    assert db.get(Cart, guest.id).status == "merged"
    assert carts.get_guest_cart(db, store.id, guest.guest_token) is None


def test_merging_never_puts_more_in_the_cart_than_can_be_sold(db, store, customer):
    managu = variant_by_sku(db, store, "MANA-BUNC")  # 3 left
    carts.do_add_to_cart(db, store, customer.id, managu.id, 2)
    guest = carts.do_create_guest_cart(db, store)
    carts.do_add_to_guest_cart(db, store, guest.guest_token, managu.id, 3)
    view = carts.do_merge_guest_cart(db, store, guest.guest_token, customer.id)
    assert [(ln.title, ln.quantity) for ln in view.lines] == [("Managu bunch", 3)]


def test_setting_a_quantity_to_zero_removes_the_line(db, store, customer):
    cabbage = variant_by_sku(db, store, "CABB")
    carts.do_add_to_cart(db, store, customer.id, cabbage.id, 2)
    assert carts.do_set_quantity(db, store, customer.id, cabbage.id, 5).item_count == 5
    assert carts.do_set_quantity(db, store, customer.id, cabbage.id, 0).lines == ()
    with pytest.raises(NotFound):
        carts.do_set_quantity(db, store, customer.id, cabbage.id, 1)


def test_setting_more_than_is_in_stock_is_refused_and_changes_nothing(db, store, customer):
    managu = variant_by_sku(db, store, "MANA-BUNC")
    carts.do_add_to_cart(db, store, customer.id, managu.id, 1)
    with pytest.raises(OutOfStock):
        carts.do_set_quantity(db, store, customer.id, managu.id, 4)
    assert carts.view_cart(db, store, customer.id).item_count == 1


def test_a_price_change_is_caught_at_checkout_and_the_cart_shows_the_new_price(
        db, store, customer):
    tomatoes = variant_by_sku(db, store, "TOMA-1KG")
    carts.do_add_to_cart(db, store, customer.id, tomatoes.id, 1)
    db.execute(Variant.__table__.update().where(Variant.id == tomatoes.id).values(price=13000))
    db.commit()
    db.expire_all()  # the shopper's next request reads afresh

    with pytest.raises(checkout.PriceChanged) as error:
        checkout.do_start_checkout(db, store, customer.id)

    assert error.value.code == "price_changed"
    assert error.value.message == ("The price of Tomatoes 1kg has changed. "
                                   "Please check your cart.")
    assert checkout.do_start_checkout(db, store, customer.id).total.amount == 13000


def test_an_idle_cart_is_reported_abandoned_once(db, store, customer):
    carts.do_add_to_cart(db, store, customer.id, variant_by_sku(db, store, "CABB").id, 1)
    cart = carts.get_active_cart(db, store.id, customer.id)
    later = utcnow() + timedelta(minutes=store.abandoned_cart_minutes + 1)

    assert carts.do_detect_abandoned_carts(db, now=utcnow()) == 0
    assert carts.do_detect_abandoned_carts(db, now=later) == 1
    assert carts.do_detect_abandoned_carts(db, now=later) == 0

    payloads = db.scalars(select(OutboxEvent.payload)
                          .where(OutboxEvent.name == events.CART_ABANDONED)).all()
    assert payloads == [{"cart_id": cart.id, "customer_id": customer.id}]


def test_coming_back_to_an_abandoned_cart_makes_it_active_again(db, store, customer):
    cabbage = variant_by_sku(db, store, "CABB")
    carts.do_add_to_cart(db, store, customer.id, cabbage.id, 1)
    later = utcnow() + timedelta(minutes=store.abandoned_cart_minutes + 1)
    carts.do_detect_abandoned_carts(db, now=later)
    carts.do_add_to_cart(db, store, customer.id, cabbage.id, 1)
    assert carts.get_active_cart(db, store.id, customer.id).abandoned_at is None


def test_the_active_cart_is_read_once_a_transaction_but_never_handed_back_once_ordered(
        db, store, customer):
    carts.do_add_to_cart(db, store, customer.id, variant_by_sku(db, store, "CABB").id, 1)
    cart = carts.get_active_cart(db, store.id, customer.id)
    assert carts.get_active_cart(db, store.id, customer.id) is cart
    cart.status = "ordered"  # as placing the order does, before it commits
    assert carts.get_active_cart(db, store.id, customer.id) is None
    db.rollback()
    assert carts.get_active_cart(db, store.id, customer.id).id == cart.id  # read afresh


def test_a_cart_ordered_by_another_request_is_not_the_active_one_in_the_next_transaction(
        app, db, store, customer):
    carts.do_add_to_cart(db, store, customer.id, variant_by_sku(db, store, "CABB").id, 1)
    assert carts.get_active_cart(db, store.id, customer.id) is not None
    db.commit()
    with app.extensions["duka.db"]() as other:  # e.g. the same shopper on WhatsApp
        checkout.do_place_order(other, store, customer.id)
    assert carts.get_active_cart(db, store.id, customer.id) is None


def test_a_cart_opened_by_another_channel_a_moment_ago_is_the_one_filled(
        app, db, store, customer):
    db.commit()
    # This request found no cart (as a hop that read it just before the other channel opened
    # one), then the same shopper's WhatsApp message opened one and committed.
    remember_for_transaction(db, ("active_cart", store.id, customer.id), None)
    with app.extensions["duka.db"]() as other:
        carts.do_add_to_cart(other, store, customer.id, variant_by_sku(other, store, "CABB").id, 1)

    view = carts.do_add_to_cart(db, store, customer.id, variant_by_sku(db, store, "ONIO-1KG").id, 2)

    assert [(ln.title, ln.quantity) for ln in view.lines] == [("Cabbage", 1), ("Onions 1kg", 2)]
    assert db.scalars(select(Cart.id).where(Cart.customer_id == customer.id)).all() == [
        view.cart_id]


def _fresh_view(db, store, customer_id):
    """view_cart as a screen of a new request gets it: nothing loaded in the transaction."""
    db.commit()
    db.expunge_all()
    return carts.view_cart(db, store, customer_id)


def test_a_screen_sees_the_cart_as_the_services_left_it(db, store, customer):
    cabbage, onions = variant_by_sku(db, store, "CABB"), variant_by_sku(db, store, "ONIO-1KG")
    carts.do_add_to_cart(db, store, customer.id, onions.id, 2)
    saved = carts.do_add_to_cart(db, store, customer.id, cabbage.id, 1)  # as the service saw it

    shown = _fresh_view(db, store, customer.id)

    assert shown == saved
    assert [(ln.title, ln.quantity, ln.total.amount) for ln in shown.lines] == [
        ("Onions 1kg", 2, 2 * onions.price), ("Cabbage", 1, cabbage.price)]
    assert shown.subtotal.amount == 2 * onions.price + cabbage.price
    assert shown.cart_id == db.scalar(select(Cart.id).where(Cart.customer_id == customer.id))


def test_a_screen_shows_todays_price_and_an_item_no_longer_on_sale(db, store, customer):
    tomatoes = variant_by_sku(db, store, "TOMA-1KG")
    carts.do_add_to_cart(db, store, customer.id, tomatoes.id, 2)
    db.execute(Variant.__table__.update().where(Variant.id == tomatoes.id)
               .values(price=13000, active=False))

    shown = _fresh_view(db, store, customer.id)

    assert [(ln.title, ln.unit_price.amount, ln.total.amount) for ln in shown.lines] == [
        ("Tomatoes 1kg", 13000, 26000)]


def test_a_screen_sees_an_emptied_cart_no_cart_and_not_an_ordered_one(db, store, customer):
    assert _fresh_view(db, store, customer.id) == carts.CartView(None, (), store.money(0))
    cabbage = variant_by_sku(db, store, "CABB")
    carts.do_add_to_cart(db, store, customer.id, cabbage.id, 1)
    carts.do_set_quantity(db, store, customer.id, cabbage.id, 0)
    emptied = _fresh_view(db, store, customer.id)
    assert emptied.lines == () and emptied.cart_id is not None and emptied.subtotal.amount == 0

    carts.do_add_to_cart(db, store, customer.id, cabbage.id, 1)
    checkout.do_place_order(db, store, customer.id)
    assert _fresh_view(db, store, customer.id) == carts.CartView(None, (), store.money(0))


def test_a_screen_reuses_the_cart_a_service_loaded_in_the_same_transaction(
        db, store, customer):
    cabbage = variant_by_sku(db, store, "CABB")
    carts.do_add_to_cart(db, store, customer.id, cabbage.id, 1)
    db.commit()
    db.expunge_all()
    cart = carts.get_active_cart(db, store.id, customer.id)  # as a service would
    sent = []

    def listen(_conn, _cursor, statement, *_):
        sent.append(statement)

    event.listen(db.get_bind(), "before_cursor_execute", listen)
    try:
        shown = carts.view_cart(db, store, customer.id)
    finally:
        event.remove(db.get_bind(), "before_cursor_execute", listen)
    assert sent == []
    assert shown == carts.view_lines(store, cart)
