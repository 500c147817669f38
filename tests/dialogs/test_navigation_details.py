"""0, 98 and stray keys do what a shopper expects on every screen."""
from sqlalchemy import update

from commerce.models import ShippingRate
from tests.dialogs.test_journeys import Phone


def test_back_from_a_delivery_summary_is_the_address_and_from_a_pickup_one_the_choice(app,
                                                                                      store):
    phone = Phone(app.test_client())
    phone.dial()
    for typed in ["1", "1", "1", "2", "Kawangware stage 56, blue gate"]:  # delivered
        phone.send(typed)
    assert phone.send("0") == ("CON Deliver to? Or type a new address:\n"
                               "1. Kawangware stage 56, blue gate\n0. Back")  # was skipped
    assert phone.send("0").startswith("CON How do you want your order?")
    phone.send("1")  # pick up instead: no address to go back to
    assert phone.send("0").startswith("CON How do you want your order?")


def test_98_on_a_menu_of_one_page_shows_it_again(app, store):
    phone = Phone(app.test_client())
    home = phone.dial()
    assert phone.send("98") == home  # not "Please reply with a number from the list."
    assert phone.send("9") == "CON Choose your language:\n1. English\n2. Kiswahili\n0. Back"
    assert phone.send("98") == "CON Choose your language:\n1. English\n2. Kiswahili\n0. Back"


def test_a_stray_key_on_help_says_how_to_leave(app, store):
    phone = Phone(app.test_client())
    phone.dial()
    help_screen = phone.send("10")
    assert phone.send("5") == ("CON Reply 0 to go back or 00 for home.\n"
                               + help_screen.removeprefix("CON "))


def test_back_from_a_reorders_summary_of_a_delivery_is_its_address(app, db, store):
    phone = Phone(app.test_client())
    phone.dial()
    for typed in ["1", "1", "2", "2", "Kawangware stage 56, blue gate", "1"]:
        phone.send(typed)  # order #1001, delivered
    db.execute(update(ShippingRate).values(amount=15000))  # so ordering again asks
    db.commit()
    phone.dial()
    phone.send("8")  # My orders
    phone.send("1")  # #1001
    assert phone.send("1").startswith("CON Order #1001 was KSh 220.\nTotal KSh 270")
    assert phone.send("0") == ("CON Deliver to? Or type a new address:\n"  # was the choice
                               "1. Kawangware stage 56, blue gate\n0. Back")
    assert phone.send("1").startswith("CON Total KSh 270\nincl. delivery KSh 150")
