"""A cart or an order of many lines: a few listed whole, how many more, and every line of a
cart with its price under Change quantities (paged, never cut)."""
from sqlalchemy import select

from commerce import carts, checkout, customers
from commerce.models import PickupPoint, Variant
from tests.dialogs.test_journeys import PHONE, Phone


def fill_cart(db, store, count: int) -> list[Variant]:
    shopper = customers.get_or_create_customer(db, store, PHONE)
    variants = db.scalars(select(Variant).order_by(Variant.id).limit(count)).all()
    for variant in variants:
        carts.do_add_to_cart(db, store, shopper.id, variant.id, 1)
    return variants


def test_an_order_of_six_lines_lists_four_whole_and_says_two_more(app, db, store):
    titles = [variant.title for variant in fill_cart(db, store, 6)]
    shopper = customers.get_or_create_customer(db, store, PHONE)
    checkout.do_choose_pickup(db, store, shopper.id, db.scalar(select(PickupPoint.id)))
    checkout.do_place_order(db, store, shopper.id)
    phone = Phone(app.test_client())
    phone.dial()
    phone.send("8")  # My orders
    lines = phone.send("1").split("\n")
    assert lines[0] == "CON #1001 Awaiting payment"
    # each whole, where the items ran on one line cut at 60 characters ("1x Sukuma wiki..")
    assert lines[1:6] == [f"1x {title}" for title in titles[:4]] + ["+2 more"]
    assert lines[6].startswith("Total KSh ")


def test_every_line_of_a_big_cart_and_its_price_is_under_change_quantities(app, db, store):
    variants = fill_cart(db, store, 10)
    phone = Phone(app.test_client())
    phone.dial()
    screen = phone.send("7")  # My cart
    assert "+6 more" in screen and "98. More" in screen
    phone.send("98")
    screen = phone.send("3")  # Change quantities
    shown = []
    while True:
        shown += [line for line in screen[4:].split("\n")
                  if line[0].isdigit() and not line.startswith(("98.", "0."))]
        if "98. More" not in screen:
            break
        screen = phone.send("98")
    assert shown == [f"{n}. 1x {variant.title} KSh {variant.price // 100}"
                     for n, variant in enumerate(variants, 1)]
