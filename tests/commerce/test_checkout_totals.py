"""Checkout: delivery or pickup, discount codes, totals with tax and shipping."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from commerce import carts, checkout, shipping
from commerce.customers import get_or_create_customer
from commerce.db import utcnow
from commerce.errors import EmptyCart, NotFound
from commerce.models import (
    DiscountCode,
    DiscountRedemption,
    Order,
    PickupPoint,
    ShippingRate,
    ShippingZone,
    Store,
    Variant,
)
from commerce.promotions import DiscountRefused
from tests.helpers import variant_by_sku

PHONE = "+254712345678"


@pytest.fixture
def customer(db, store):
    return get_or_create_customer(db, store, PHONE)


def add(db, store, customer, sku, quantity):
    carts.do_add_to_cart(db, store, customer.id, variant_by_sku(db, store, sku).id, quantity)


def zone(db, store) -> ShippingZone:
    return db.scalar(select(ShippingZone).where(ShippingZone.store_id == store.id))


def test_tax_is_shown_inside_tax_inclusive_prices(db, store, customer):
    add(db, store, customer, "TOMA-1KG", 2)  # KSh 240, 16 % VAT included
    totals = checkout.do_start_checkout(db, store, customer.id)
    assert (totals.subtotal.amount, totals.discount.amount, totals.shipping.amount,
            totals.tax.amount, totals.total.amount) == (24000, 0, 0, 3310, 24000)


def test_tax_is_added_on_top_when_prices_exclude_it(db, store, customer):
    store.prices_include_tax = False
    db.commit()
    add(db, store, customer, "TOMA-1KG", 2)
    totals = checkout.do_start_checkout(db, store, customer.id)
    assert (totals.tax.amount, totals.total.amount) == (3840, 27840)


def test_delivery_costs_the_zone_rate_until_the_free_threshold(db, store, customer):
    add(db, store, customer, "TOMA-1KG", 2)
    checkout.do_choose_delivery(db, store, customer.id, zone(db, store).id,
                                "Kawangware stage 56, blue gate", "opposite the chemist")
    assert checkout.do_start_checkout(db, store, customer.id).shipping.amount == 10000
    add(db, store, customer, "COOK-OIL-3L", 2)  # now KSh 2,080: free over KSh 2,000
    totals = checkout.do_start_checkout(db, store, customer.id)
    assert (totals.shipping.amount, totals.total.amount) == (0, 208000)


def test_weight_rates_pick_the_band_the_order_falls_in(db, store, customer):
    area = ShippingZone(store_id=store.id, name="Kiambu", areas=["Kiambu", "Ruaka"])
    db.add(area)
    db.flush()
    db.add_all([
        ShippingRate(store_id=store.id, zone_id=area.id, name="Light", kind="by_weight",
                     amount=15000, min_weight_grams=0, max_weight_grams=5000),
        ShippingRate(store_id=store.id, zone_id=area.id, name="Heavy", kind="by_weight",
                     amount=30000, min_weight_grams=5001),
    ])
    db.execute(Variant.__table__.update().values(weight_grams=1000))
    db.commit()
    assert shipping.zone_for_area(db, store.id, "  ruaka ") == area
    assert shipping.quote(db, store, area.id, weight_grams=4000, order_value=0) == 15000
    assert shipping.quote(db, store, area.id, weight_grams=8000, order_value=0) == 30000


def test_delivery_needs_an_address(db, store, customer):
    add(db, store, customer, "CABB", 1)
    with pytest.raises(checkout.CheckoutIncomplete):
        checkout.do_choose_delivery(db, store, customer.id, zone(db, store).id, "   ")
    assert carts.get_active_cart(db, store.id, customer.id).delivery_method is None


def test_pickup_has_no_shipping_and_is_kept_on_the_order(db, store, customer):
    add(db, store, customer, "CABB", 1)
    point = db.scalar(select(PickupPoint))
    checkout.do_choose_pickup(db, store, customer.id, point.id)
    order = checkout.do_place_order(db, store, customer.id)
    assert (order.delivery_method, order.pickup_point_id, order.shipping_total) == (
        "pickup", point.id, 0)


def test_another_stores_zone_or_pickup_point_cannot_be_chosen(db, store, customer):
    other = Store(slug="other", name="Other", currency="KES", country="KE")
    db.add(other)
    db.flush()
    foreign_zone = ShippingZone(store_id=other.id, name="Elsewhere", areas=["x"])
    foreign_point = PickupPoint(store_id=other.id, name="Elsewhere")
    db.add_all([foreign_zone, foreign_point])
    db.commit()
    add(db, store, customer, "CABB", 1)
    with pytest.raises(NotFound):
        checkout.do_choose_delivery(db, store, customer.id, foreign_zone.id, "Somewhere")
    with pytest.raises(NotFound):
        checkout.do_choose_pickup(db, store, customer.id, foreign_point.id)


def test_a_percentage_code_comes_off_the_subtotal_and_is_counted_once_used(
        db, store, customer):
    add(db, store, customer, "COOK-OIL-1L", 2)  # KSh 640; KARIBU10: 10 %, min KSh 500
    totals = checkout.do_apply_discount_code(db, store, customer.id, " karibu10 ")
    assert (totals.subtotal.amount, totals.discount.amount, totals.total.amount) == (
        64000, 6400, 57600)
    order = checkout.do_place_order(db, store, customer.id)
    assert (order.discount_code, order.discount_total, order.total) == ("KARIBU10", 6400, 57600)
    assert db.scalar(select(DiscountCode.times_used)) == 1
    assert db.scalar(select(DiscountRedemption.order_id)) == order.id


@pytest.mark.parametrize("change, subtotal_sku, reason", [
    ({}, "CABB", "min_order"),  # KSh 60 < KSh 500
    ({"active": False}, "COOK-OIL-1L", "unknown"),
    ({"ends_at": utcnow() - timedelta(days=1)}, "COOK-OIL-1L", "expired"),
    ({"starts_at": utcnow() + timedelta(days=1)}, "COOK-OIL-1L", "not_started"),
    ({"usage_limit": 1, "times_used": 1}, "COOK-OIL-1L", "usage_limit"),
])
def test_a_code_that_does_not_apply_is_refused_with_the_reason(db, store, customer, change,
                                                                subtotal_sku, reason):
    if change:
        db.execute(DiscountCode.__table__.update().values(**change))
        db.commit()
    add(db, store, customer, subtotal_sku, 2)
    with pytest.raises(DiscountRefused) as error:
        checkout.do_apply_discount_code(db, store, customer.id, "KARIBU10")
    assert (error.value.code, error.value.details["reason"]) == ("discount_refused", reason)
    assert carts.get_active_cart(db, store.id, customer.id).discount_code is None


def test_a_first_order_code_is_refused_on_a_second_order(db, store, customer):
    add(db, store, customer, "CABB", 1)
    checkout.do_place_order(db, store, customer.id)
    add(db, store, customer, "COOK-OIL-1L", 2)
    with pytest.raises(DiscountRefused) as error:
        checkout.do_apply_discount_code(db, store, customer.id, "KARIBU10")
    assert error.value.message == "KARIBU10 is for a first order only."


def test_a_per_customer_limit_counts_that_customers_orders(db, store, customer):
    db.add(DiscountCode(store_id=store.id, code="SOKO50", kind="fixed", value=5000,
                        per_customer_limit=1))
    db.commit()
    add(db, store, customer, "CABB", 2)
    assert checkout.do_apply_discount_code(db, store, customer.id, "soko50").discount.amount \
        == 5000
    checkout.do_place_order(db, store, customer.id)
    add(db, store, customer, "CABB", 2)
    with pytest.raises(DiscountRefused) as error:
        checkout.do_apply_discount_code(db, store, customer.id, "SOKO50")
    assert error.value.details["reason"] == "per_customer_limit"


def test_a_fixed_discount_never_makes_the_total_negative(db, store, customer):
    db.add(DiscountCode(store_id=store.id, code="BIG", kind="fixed", value=1_000_000))
    db.commit()
    add(db, store, customer, "CABB", 1)
    totals = checkout.do_apply_discount_code(db, store, customer.id, "BIG")
    assert (totals.discount.amount, totals.total.amount) == (6000, 0)


def test_the_last_use_of_a_limited_code_goes_to_one_order_only(db, store, customer):
    db.execute(DiscountCode.__table__.update().values(usage_limit=1, min_order=0,
                                                      first_order_only=False))
    db.commit()
    other = get_or_create_customer(db, store, "+254722000111")
    for who in (customer, other):
        add(db, store, who, "CABB", 1)
        checkout.do_apply_discount_code(db, store, who.id, "KARIBU10")
    checkout.do_place_order(db, store, customer.id)
    with pytest.raises(DiscountRefused):
        checkout.do_place_order(db, store, other.id)
    assert db.scalar(select(func.count(Order.id))) == 1
    assert db.scalar(select(DiscountCode.times_used)) == 1


def test_an_unknown_payment_method_or_empty_cart_is_refused(db, store, customer):
    with pytest.raises(EmptyCart):
        checkout.do_place_order(db, store, customer.id)
    add(db, store, customer, "CABB", 1)
    with pytest.raises(NotFound):
        checkout.do_place_order(db, store, customer.id, payment_method="barter")
    assert db.scalar(select(func.count(Order.id))) == 0
