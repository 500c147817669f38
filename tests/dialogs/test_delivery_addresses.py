"""The addresses a shopper types at checkout: offered again next time, never twice, and
never refused for having too many (a feature phone cannot delete one)."""
from sqlalchemy import select

from commerce import customers
from commerce.models import Address, Customer, Order
from tests.dialogs.test_journeys import Phone

TO_THE_ADDRESS = ["1", "1", "1", "2"]  # a cabbage, delivery to Nairobi West


def buy_delivered_to(phone: Phone, typed: str) -> str:
    phone.dial()
    for key in TO_THE_ADDRESS:
        screen = phone.send(key)
    assert phone.send(typed).startswith("CON Total KSh 160")
    assert phone.send("1").startswith("END Asante!")  # cash on delivery
    return screen


def test_an_address_typed_again_is_offered_once_and_first(app, db, store):
    phone = Phone(app.test_client())
    buy_delivered_to(phone, "Kawangware stage 56, blue gate")
    buy_delivered_to(phone, "Riruta, opposite Naivas")
    shown = buy_delivered_to(phone, "kawangware  stage 56, Blue gate")  # again, as typed
    assert shown == ("CON Deliver to? Or type a new address:\n1. Riruta, opposite Naivas\n"
                     "2. Kawangware stage 56, blue gate\n0. Back")
    phone.dial()
    for key in TO_THE_ADDRESS:
        screen = phone.send(key)
    assert screen == ("CON Deliver to? Or type a new address:\n"
                      "1. kawangware stage 56, Blue gate\n2. Riruta, opposite Naivas\n0. Back")
    assert db.scalars(select(Address.text).order_by(Address.id)).all() == [
        "Riruta, opposite Naivas", "kawangware stage 56, Blue gate"]


def test_a_regular_with_the_most_addresses_kept_can_still_type_a_new_one(app, db, store):
    phone = Phone(app.test_client())
    buy_delivered_to(phone, "Kawangware stage 56, blue gate")  # the oldest
    shopper = db.scalar(select(Customer.id))
    for n in range(customers.MAX_ADDRESSES - 1):
        customers.do_add_address(db, store, shopper, f"Plot {n}, Riruta")

    buy_delivered_to(phone, "Kangemi market, gate B")  # was "at most 20 addresses" (English)
    assert db.scalar(select(Order.address_text).order_by(Order.id.desc()).limit(1)) == (
        "Kangemi market, gate B")
    kept = db.scalars(select(Address.text).order_by(Address.id)).all()
    assert len(kept) == customers.MAX_ADDRESSES and kept[-1] == "Kangemi market, gate B"
    assert "Kawangware stage 56, blue gate" not in kept  # the oldest is forgotten


def test_a_long_saved_address_is_offered_short_beside_the_question_and_used_whole(app, db,
                                                                                  store):
    long_one = ("Kawangware 56 estate, house 14 behind the blue water tank, opposite the "
                "Lucky Star butchery, ask for Mama Wanjiru at the green gate")
    phone = Phone(app.test_client())
    buy_delivered_to(phone, long_one)
    phone.dial()
    for key in TO_THE_ADDRESS:
        screen = phone.send(key)
    assert screen == ("CON Deliver to? Or type a new address:\n"  # the question kept with it
                      "1. Kawangware 56 estate, house 14 behind the blue water tank,..\n0. Back")
    phone.send("1")
    phone.send("1")  # cash on delivery
    assert db.scalar(select(Order.address_text).order_by(Order.id.desc()).limit(1)) == long_one


def test_a_long_saved_address_typed_without_spaces_keeps_its_start(app, db, store):
    run_on = "Kawangware,stage56,bluegate,oppositeNaivas,nexttoTotalpetrolstation"
    phone = Phone(app.test_client())
    buy_delivered_to(phone, run_on)
    phone.dial()
    for key in TO_THE_ADDRESS:
        screen = phone.send(key)
    assert screen == f"CON Deliver to? Or type a new address:\n1. {run_on[:58]}..\n0. Back"
