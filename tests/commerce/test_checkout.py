import pytest
from sqlalchemy import func, select

from commerce import carts, catalog, checkout, orders, shipping, stores
from commerce.customers import get_or_create_customer
from commerce.errors import EmptyCart, InvalidQuantity, NotFound, OutOfStock
from commerce.models import Cart, Order, OutboxEvent, Stock, Store, Variant
from tests.helpers import on_hand, variant_by_sku


@pytest.fixture
def customer(db, store):
    return get_or_create_customer(db, store, "+254712345678")


def test_placing_an_order_takes_stock_and_numbers_it_per_store(db, store, customer):
    tomatoes = variant_by_sku(db, store, "TOMA-1KG")
    onions = variant_by_sku(db, store, "ONIO-1KG")
    carts.do_add_to_cart(db, store, customer.id, tomatoes.id, 2)
    carts.do_add_to_cart(db, store, customer.id, onions.id, 1)

    order = checkout.do_place_order(db, store, customer.id)

    assert order.number == 1001
    assert order.total == 2 * 12000 + 10000
    assert [(ln.title, ln.quantity, ln.unit_price) for ln in order.lines] == [
        ("Tomatoes 1kg", 2, 12000), ("Onions 1kg", 1, 10000)]
    db.expire_all()
    assert on_hand(db, "TOMA-1KG") == 78
    assert on_hand(db, "ONIO-1KG") == 69
    assert carts.get_active_cart(db, store.id, customer.id) is None
    event = db.scalar(select(OutboxEvent).where(OutboxEvent.name == "order.placed"))
    assert event.payload == {"order_id": order.id, "number": 1001}

    carts.do_add_to_cart(db, store, customer.id, onions.id, 1)
    assert checkout.do_place_order(db, store, customer.id).number == 1002


def test_placing_the_same_cart_twice_gives_the_same_order(db, store, customer):
    carts.do_add_to_cart(db, store, customer.id, variant_by_sku(db, store, "CABB").id, 1)
    cart_id = carts.get_active_cart(db, store.id, customer.id).id

    first = checkout.do_place_order(db, store, customer.id, cart_id=cart_id)
    again = checkout.do_place_order(db, store, customer.id, cart_id=cart_id)

    assert again.id == first.id
    assert db.scalar(select(func.count(Order.id))) == 1
    db.expire_all()
    assert on_hand(db, "CABB") == 39


def test_stock_that_ran_out_after_adding_to_cart_fails_the_order_and_changes_nothing(
        db, store, customer):
    managu = variant_by_sku(db, store, "MANA-BUNC")  # 3 in stock
    tomatoes = variant_by_sku(db, store, "TOMA-1KG")
    carts.do_add_to_cart(db, store, customer.id, tomatoes.id, 1)
    carts.do_add_to_cart(db, store, customer.id, managu.id, 3)
    db.execute(Stock.__table__.update().where(Stock.variant_id == managu.id).values(quantity=1))
    db.commit()

    with pytest.raises(OutOfStock) as error:
        checkout.do_place_order(db, store, customer.id)

    assert error.value.message == "Sorry, only 1 Managu bunch left."
    db.expire_all()
    assert on_hand(db, "TOMA-1KG") == 80  # untouched, though it came first
    assert on_hand(db, "MANA-BUNC") == 1
    assert db.scalar(select(func.sum(Stock.reserved))) == 0  # nothing left held
    assert db.scalar(select(func.count(Order.id))) == 0
    assert carts.get_active_cart(db, store.id, customer.id) is not None


def test_an_empty_cart_cannot_be_ordered(db, store, customer):
    with pytest.raises(EmptyCart):
        checkout.do_place_order(db, store, customer.id)


@pytest.mark.parametrize("quantity", [0, -1, 100, 2.5, True])
def test_bad_quantities_are_refused_and_change_nothing(db, store, customer, quantity):
    with pytest.raises(InvalidQuantity):
        carts.do_add_to_cart(db, store, customer.id, variant_by_sku(db, store, "CABB").id,
                             quantity)
    assert db.scalar(select(func.count(Cart.id))) == 0


def test_more_than_is_in_stock_cannot_go_in_the_cart(db, store, customer):
    managu = variant_by_sku(db, store, "MANA-BUNC")
    carts.do_add_to_cart(db, store, customer.id, managu.id, 2)
    with pytest.raises(OutOfStock):
        carts.do_add_to_cart(db, store, customer.id, managu.id, 2)
    assert carts.view_cart(db, store, customer.id).item_count == 2


def test_another_stores_product_cannot_be_bought(db, store, customer):
    other = Store(slug="other", name="Other shop", currency="KES", country="KE")
    db.add(other)
    db.commit()
    with pytest.raises(NotFound):
        carts.do_add_to_cart(db, other, customer.id, variant_by_sku(db, store, "CABB").id, 1)


def test_sms_receipt_names_the_order_total_and_help_line(db, store, customer):
    carts.do_add_to_cart(db, store, customer.id, variant_by_sku(db, store, "TOMA-1KG").id, 2)
    order = checkout.do_place_order(db, store, customer.id)
    assert orders.sms_receipt(order, store, "en_KE") == (
        "Mama Mboga Fresh: order #1001 received. 2x Tomatoes 1kg. Total KSh 240.00. "
        "Pay cash on delivery. Help: +254700123456")


def test_a_long_receipt_still_fits_two_sms_parts(db, store, customer):
    in_stock = select(Stock.variant_id).where(Stock.quantity > 0)
    for variant in db.scalars(select(Variant).where(Variant.id.in_(in_stock))).all()[:25]:
        carts.do_add_to_cart(db, store, customer.id, variant.id, 1)
    order = checkout.do_place_order(db, store, customer.id)
    receipt = orders.sms_receipt(order, store, "en_KE")
    assert len(receipt) <= 306
    assert "more" in receipt and receipt.endswith("Help: +254700123456")


# -- items taken off sale after they went in the cart -------------------------------------------
def _spinach_and_onions_in_cart(db, store, customer):
    spinach = variant_by_sku(db, store, "SPIN-BUNC")
    onions = variant_by_sku(db, store, "ONIO-1KG")
    carts.do_add_to_cart(db, store, customer.id, spinach.id, 2)
    carts.do_add_to_cart(db, store, customer.id, onions.id, 1)
    return spinach, onions


def test_a_product_taken_off_sale_is_taken_out_of_the_cart_at_checkout(db, store, customer):
    spinach, onions = _spinach_and_onions_in_cart(db, store, customer)
    catalog.do_set_product_active(db, store, spinach.product_id, False)

    with pytest.raises(checkout.NoLongerSold) as error:
        checkout.do_start_checkout(db, store, customer.id)

    assert error.value.details == {"variant_ids": [spinach.id]}
    assert error.value.message == ("Sorry, no longer sold and taken out of your cart: "
                                   "Spinach bunch.")
    db.expire_all()
    cart = carts.get_active_cart(db, store.id, customer.id)
    assert [(ln.variant_id, ln.quantity) for ln in cart.lines] == [(onions.id, 1)]
    assert db.scalar(select(func.sum(Stock.reserved))) == 0  # nothing held for it
    # The rest of the cart checks out as usual.
    assert checkout.do_start_checkout(db, store, customer.id).subtotal.amount == 10000


def test_a_size_taken_off_sale_after_checkout_began_is_not_ordered(db, store, customer):
    spinach, onions = _spinach_and_onions_in_cart(db, store, customer)
    checkout.do_start_checkout(db, store, customer.id)  # holds both
    catalog.do_update_variant(db, store, spinach.id, active=False)

    with pytest.raises(checkout.NoLongerSold):
        checkout.do_place_order(db, store, customer.id)

    assert db.scalar(select(func.count(Order.id))) == 0
    db.expire_all()
    cart = carts.get_active_cart(db, store.id, customer.id)
    assert [ln.variant_id for ln in cart.lines] == [onions.id]
    order = checkout.do_place_order(db, store, customer.id)  # what is left can be ordered
    assert [(ln.title, ln.quantity) for ln in order.lines] == [("Onions 1kg", 1)]
    assert on_hand(db, "SPIN-BUNC") == 50
    assert db.scalar(select(func.sum(Stock.reserved))) == 0


def test_a_blank_delivery_address_is_refused_and_changes_nothing(db, store, customer):
    carts.do_add_to_cart(db, store, customer.id, variant_by_sku(db, store, "CABB").id, 1)
    zone = shipping.list_zones(db, store.id)[0]
    with pytest.raises(checkout.CheckoutIncomplete):
        checkout.do_choose_delivery(db, store, customer.id, zone.id, "   ")
    db.expire_all()
    assert carts.get_active_cart(db, store.id, customer.id).address_text == ""


def test_a_reorder_names_the_items_whose_price_changed(db, store, customer):
    carts.do_add_to_cart(db, store, customer.id, variant_by_sku(db, store, "CABB").id, 2)
    carts.do_add_to_cart(db, store, customer.id, variant_by_sku(db, store, "ONIO-1KG").id, 1)
    order = checkout.do_place_order(db, store, customer.id)
    cabbage, onions = (variant_by_sku(db, store, sku).id for sku in ("CABB", "ONIO-1KG"))

    assert orders.repriced_titles(order, {cabbage: 6000, onions: 10000}) == []
    assert orders.repriced_titles(order, {cabbage: 9000, onions: 10000}) == ["Cabbage"]
    assert orders.repriced_titles(order, {onions: 10000}) == []  # not in the cart: not charged


def test_cash_is_refused_where_the_store_takes_none_and_nothing_changes(db, store, customer):
    stores.do_update_store_settings(db, store, accepts_cash=False)
    carts.do_add_to_cart(db, store, customer.id, variant_by_sku(db, store, "CABB").id, 2)
    checkout.do_start_checkout(db, store, customer.id)  # holds the stock
    held = db.scalar(select(func.sum(Stock.reserved)))

    with pytest.raises(NotFound) as refused:
        checkout.do_place_order(db, store, customer.id, payment_method="cod")

    assert refused.value.template == "Payment method '{method}' is not offered."  # translated
    assert refused.value.message == "Payment method 'cod' is not offered."
    db.expire_all()
    assert db.scalar(select(func.count(Order.id))) == 0
    assert db.scalar(select(func.sum(Stock.reserved))) == held == 2  # still held, not sold
    assert db.get(Store, store.id).next_order_number == 1001
    assert carts.get_active_cart(db, store.id, customer.id) is not None
    # Paying online is still taken, with the order number cash did not use.
    assert checkout.do_place_order(db, store, customer.id, payment_method="mpesa").number == 1001
