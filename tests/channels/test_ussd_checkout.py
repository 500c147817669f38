"""Checkout over USSD when stock moves under the shopper's feet."""
import pytest
from sqlalchemy import func, select

from commerce import carts, checkout
from commerce.customers import get_or_create_customer
from commerce.errors import OutOfStock
from commerce.models import Order, Reservation
from tests.helpers import variant_by_sku


def hop(client, text, phone="+254712345678", session="s1"):
    return client.post("/channels/ussd/africastalking", data={
        "sessionId": session, "serviceCode": "*384*123#", "phoneNumber": phone,
        "networkCode": "63902", "text": text}).get_data(as_text=True)


def test_checkout_holds_the_stock_while_the_shopper_confirms(app, db, store):
    client = app.test_client()
    for text in ["", "1", "1*4"]:
        hop(client, text)
    screen = hop(client, "1*4*3")  # Managu (3 left), 3 of them: how do you want it?
    assert screen.startswith("CON Total KSh 150\nHow do you want your order?")
    assert db.scalar(select(func.count(Reservation.id))) == 0  # not held until one is chosen
    assert hop(client, "1*4*3*1").startswith("CON Total KSh 150")  # pick up: checkout starts
    held = db.scalar(select(func.sum(Reservation.quantity)))
    assert held == 3

    # Someone else now finds Managu sold out.
    other = get_or_create_customer(db, store, "+254722000111")
    managu = variant_by_sku(db, store, "MANA-BUNC")
    with pytest.raises(OutOfStock):
        carts.do_add_to_cart(db, store, other.id, managu.id, 1)

    assert hop(client, "1*4*3*1*1").startswith("END Asante! Order #1001 is placed.")  # cash
    assert db.scalar(select(func.count(Reservation.id))) == 0


def test_stock_gone_before_checkout_is_explained_on_the_cart(app, db, store):
    client = app.test_client()
    for text in ["", "1", "1*4", "1*4*3"]:  # 3 Managu in the cart: how do you want it?
        hop(client, text)
    rival = get_or_create_customer(db, store, "+254722000111")
    carts.do_add_to_cart(db, store, rival.id, variant_by_sku(db, store, "MANA-BUNC").id, 2)
    checkout.do_place_order(db, store, rival.id)

    cart = "3x Managu bunch KSh 150\nTotal KSh 150\n1. Checkout\n2. Add more\n" \
           "3. Change quantities\n0. Back"
    screen = hop(client, "1*4*3*1")  # pick up: checkout cannot hold 3, said on the cart
    assert screen == "CON Sorry, only 1 Managu bunch left.\n" + cart
    screen = hop(client, "1*4*3*1*1")  # Checkout, again
    assert screen == "CON Sorry, only 1 Managu bunch left.\n" + cart
    assert db.scalar(select(func.count(Order.id))) == 1


def test_a_cart_emptied_on_another_channel_is_not_checked_out(app, db, store):
    client = app.test_client()
    for text in ["", "1", "1*4", "1*4*3"]:  # 3 Managu in the cart: how do you want it?
        hop(client, text)
    shopper = get_or_create_customer(db, store, "+254712345678")  # the same number on WhatsApp
    carts.do_set_quantity(db, store, shopper.id, variant_by_sku(db, store, "MANA-BUNC").id, 0)

    screen = hop(client, "1*4*3*1")  # pick up, chosen from the screen that still showed it

    assert screen == "CON Your cart is empty.\n1. Shop\n0. Back"
    assert db.scalar(select(func.count(Reservation.id))) == 0
