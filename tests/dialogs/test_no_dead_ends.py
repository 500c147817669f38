"""What the shopper is told when a journey cannot go on as they expected: an item taken off
sale, a new price on a reorder, no way to get the order, nothing left to add, a mistyped
address; and back leads where they came from."""
import pytest
from sqlalchemy import func, select

from commerce import catalog, shipping
from commerce.models import (
    Address, Cart, CartLine, Order, PickupPoint, ShippingRate, ShippingZone, Stock,
)
from dialogs.checkout import looks_like_address
from tests.dialogs.test_journeys import Phone
from tests.helpers import variant_by_sku

CART_CHOICES = "1. Checkout\n2. Add more\n3. Change quantities\n0. Back"


@pytest.fixture
def phone(app, store):
    return Phone(app.test_client())


def _lines(db):
    db.expire_all()
    return [(line.variant.title, line.quantity) for line in db.scalars(
        select(CartLine).join(Cart).where(Cart.status == "active").order_by(CartLine.id))]


# -- 1. taken off sale between the cart and paying ----------------------------------------------
def test_an_item_taken_off_sale_is_not_checked_out(phone, db, store):
    phone.dial()
    for typed in ["1", "6", "1"]:  # Vegetables, Spinach, one
        screen = phone.send(typed)
    assert screen.startswith("CON Total KSh 40\nHow do you want your order?\n"
                             "1. Pick up at Kawangware shop\n")
    catalog.do_set_product_active(db, store, variant_by_sku(db, store, "SPIN-BUNC").product_id,
                                  False)

    # Pick up at Kawangware shop: where checkout now starts
    assert phone.send("1") == ("CON Sorry, no longer sold and taken out of your cart: "
                               "Spinach bunch.\nYour cart is empty.\n1. Shop\n0. Back")
    assert db.scalar(select(func.count(Order.id))) == 0
    assert _lines(db) == []


def test_an_item_taken_off_sale_while_paying_is_not_ordered(phone, db, store):
    phone.dial()
    for typed in ["1", "1", "1", "3", "1", "6", "1", "1"]:  # cabbage, spinach, pick up
        screen = phone.send(typed)
    assert screen.startswith("CON Total KSh 100\n1. Pay cash at pickup")
    catalog.do_update_variant(db, store, variant_by_sku(db, store, "SPIN-BUNC").id,
                              active=False)

    assert phone.send("1") == ("CON Sorry, no longer sold and taken out of your cart: "
                               "Spinach bunch.\n1x Cabbage KSh 60\nTotal KSh 60\n"
                               + CART_CHOICES)
    assert db.scalar(select(func.count(Order.id))) == 0
    assert _lines(db) == [("Cabbage", 1)]
    phone.send("1")  # Checkout
    phone.send("1")  # Pick up
    assert phone.send("1").startswith("END Asante! Order #1001 is placed. Pay KSh 60 cash")
    order = db.scalar(select(Order))
    assert [(ln.title, ln.quantity) for ln in order.lines] == [("Cabbage", 1)]


# -- 3. a reorder at a new price ----------------------------------------------------------------
def _order_two_cabbages_for_pickup(phone):
    phone.dial()
    for typed in ["1", "1", "2", "1"]:  # Vegetables, Cabbage, two, Pick up
        phone.send(typed)
    assert phone.send("1").startswith("END Asante! Order #1001 is placed. Pay KSh 120")


def test_a_reorder_at_a_new_price_shows_the_cart_before_charging(phone, db, store):
    _order_two_cabbages_for_pickup(phone)
    catalog.do_update_variant(db, store, variant_by_sku(db, store, "CABB").id, price=9000)

    phone.dial()
    phone.send("8")
    assert phone.send("1") == ("CON #1001 Awaiting payment\n2x Cabbage\nTotal KSh 120\n"
                               "1. Order again, pay cash\n0. Back")
    assert phone.send("1") == ("CON New price since order #1001: Cabbage.\n"
                               "2x Cabbage KSh 180\nTotal KSh 180\n" + CART_CHOICES)
    assert db.scalar(select(func.count(Order.id))) == 1
    assert _lines(db) == [("Cabbage", 2)]
    for typed in ["1", "1"]:  # Checkout, pick up
        phone.send(typed)
    assert phone.send("1").startswith("END Asante! Order #1002 is placed. Pay KSh 180 cash")


def test_a_reorder_whose_delivery_costs_more_asks_to_confirm_the_new_total(phone, db, store):
    phone.dial()
    for typed in ["1", "1", "2", "2", "Kawangware stage 56, blue gate", "1"]:
        last = phone.send(typed)
    assert last.startswith("END Asante! Order #1001 is placed. Pay KSh 220 cash on delivery.")
    rate = db.scalar(select(ShippingRate))
    shipping.do_update_rate(db, store, rate.id, amount=15000)

    phone.dial()
    phone.send("8")
    phone.send("1")
    assert phone.send("1") == ("CON Order #1001 was KSh 220.\nTotal KSh 270\n"
                               "incl. delivery KSh 150\n1. Pay cash on delivery\n"
                               "2. Discount code\n0. Back")
    assert db.scalar(select(func.count(Order.id))) == 1
    assert phone.send("1").startswith("END Asante! Order #1002 is placed. Pay KSh 270 cash")
    again = db.scalar(select(Order).where(Order.number == 1002))
    assert (again.address_text, again.shipping_total, again.total) == (
        "Kawangware stage 56, blue gate", 15000, 27000)


# -- 5. no way to get the order -----------------------------------------------------------------
def test_no_delivery_option_for_the_order_says_why_on_the_cart(phone, db, store):
    db.scalar(select(PickupPoint)).active = False
    rate = db.scalar(select(ShippingRate))
    rate.kind, rate.min_weight_grams, rate.max_weight_grams = "by_weight", 0, 1000
    db.commit()
    catalog.do_update_variant(db, store, variant_by_sku(db, store, "CABB").id,
                              weight_grams=5000)
    phone.dial()
    for typed in ["1", "1", "1"]:
        phone.send(typed)

    assert phone.send("1") == ("CON Sorry, we cannot deliver this order and there is no "
                               "pickup.\n1x Cabbage KSh 60\nTotal KSh 60\n" + CART_CHOICES)
    assert phone.send("3") == "CON Change which item?\n1. 1x Cabbage KSh 60\n0. Back"
    assert db.scalar(select(func.count(Order.id))) == 0


def test_back_from_paying_when_there_is_nothing_to_choose_goes_to_the_cart(phone, db, store):
    db.scalar(select(PickupPoint)).active = False
    db.scalar(select(ShippingZone)).active = False
    db.commit()
    phone.dial()
    for typed in ["1", "1", "1"]:
        phone.send(typed)
    assert phone.send("1") == ("CON Total KSh 60\n1. Pay cash on delivery\n2. Discount code\n"
                               "0. Back")

    assert phone.send("0") == "CON 1x Cabbage KSh 60\nTotal KSh 60\n" + CART_CHOICES
    assert db.scalar(select(func.count(Order.id))) == 0


# -- 6. all that is left is in the cart already --------------------------------------------------
def test_a_product_all_in_the_cart_already_says_so(phone, db):
    phone.dial()
    for typed in ["1", "4", "3", "3", "1"]:  # all 3 Managu, Add more, Vegetables
        phone.send(typed)

    screen = phone.send("4")  # Managu again
    assert screen.startswith("CON You already have all 3 Managu bunch in your cart.\n"
                             "Choose a product:\n1. Cabbage KSh 60\n")
    assert "How many" not in screen
    assert _lines(db) == [("Managu bunch", 3)]


def test_a_size_all_in_the_cart_already_says_so(phone, db, store):
    five_kilos = variant_by_sku(db, store, "IRIS-POTA-5KG")
    db.scalar(select(Stock).where(Stock.variant_id == five_kilos.id)).quantity = 2
    db.commit()
    phone.dial()
    for typed in ["1", "3", "2", "2", "3", "1", "3"]:  # 2 of 5kg, Add more, Irish potatoes
        phone.send(typed)

    assert phone.send("2") == ("CON You already have all 2 Irish potatoes 5kg in your cart.\n"
                               "Irish potatoes: choose a size\n1. 2kg KSh 180\n"
                               "2. 5kg KSh 420\n0. Back")


# -- 7. back from a product found by search ------------------------------------------------------
@pytest.mark.parametrize("query, screen", [
    ("cabbage", "CON Cabbage KSh 60 each.\nHow many? (1-40)\n0. Back"),
    ("tomato", "CON Tomatoes: choose a size\n1. 1kg KSh 120\n2. 500g KSh 65\n0. Back"),
])
def test_back_from_a_searched_product_goes_back_to_the_results(phone, query, screen):
    phone.dial()
    phone.send("6")
    results = phone.send(query)
    assert phone.send("1") == screen
    assert phone.send("0") == results
    assert phone.send("0") == "CON Type what you are looking for:\n0. Back"


def test_a_sold_out_search_result_says_so_on_the_results(phone):
    phone.dial()
    phone.send("6")
    assert phone.send("pineapple") == "CON Found:\n1. Pineapple\n0. Back"
    assert phone.send("1") == "CON Sorry, Pineapple is sold out.\nFound:\n1. Pineapple\n0. Back"


# -- 8. a menu key is not an address --------------------------------------------------------------
ASK_ADDRESS = ("Type your delivery address and a landmark, e.g. Kawangware stage 56, "
               "blue gate:\n0. Back")


@pytest.mark.parametrize("typed", ["98", "3", "ab"])
def test_a_menu_key_typed_as_the_address_is_asked_again(phone, db, typed):
    phone.dial()
    for step in ["1", "1", "1"]:  # Vegetables, Cabbage, one
        phone.send(step)
    assert phone.send("2") == "CON " + ASK_ADDRESS  # Delivery

    assert phone.send(typed) == "CON That does not look like an address.\n" + ASK_ADDRESS
    assert db.scalar(select(func.count(Address.id))) == 0
    assert db.scalar(select(Cart.address_text)) == ""
    assert phone.send("Kibra, Olympic stage").startswith("CON Total KSh 160\n")
    assert db.scalars(select(Address.text)).all() == ["Kibra, Olympic stage"]


# -- 11. the "from" price of a product whose cheapest size is sold out --------------------------
def test_from_price_is_the_cheapest_size_in_stock(phone, db, store):
    half_dozen = variant_by_sku(db, store, "EGGS-HALF-DOZE")
    db.scalar(select(Stock).where(Stock.variant_id == half_dozen.id)).quantity = 0
    db.commit()
    phone.dial()
    assert phone.send("4") == ("CON Choose a product:\n1. Butter KSh 280\n"
                               "2. Eggs from KSh 450\n3. Fresh milk from KSh 60\n"
                               "4. Mala KSh 70\n5. Yoghurt (sold out)\n0. Back")


def test_an_address_in_words_is_one():
    assert looks_like_address("Kibra")
    assert looks_like_address("Kawangware stage 56, blue gate")
    assert not looks_like_address("98")
    assert not looks_like_address("CBD")
    # A location shared on WhatsApp, with or without the place's name.
    assert looks_like_address("(-1.28333,36.81667)")
    assert looks_like_address("Yaya Centre (-1.29250,36.78770)")
