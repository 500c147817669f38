"""Back (``0``) to a list lands on the page the shopper picked from, not on page 1."""
from tests.dialogs.test_journeys import Phone

PAGE_TWO = "CON 7. Sukuma wiki KSh 30\n8. Tomatoes from KSh 65\n0. Back"


def test_back_from_a_product_picked_on_page_two_shows_page_two(app, store):
    phone = Phone(app.test_client())
    phone.dial()
    phone.send("1")  # Vegetables
    assert phone.send("98") == PAGE_TWO
    assert phone.send("8").startswith("CON Tomatoes: choose a size")
    assert phone.send("0") == PAGE_TWO  # was page 1: Cabbage, Carrots...
    assert phone.send("0").startswith("CON Choose a product:\n1. Cabbage")  # then page 1


def test_two_steps_back_from_a_size_still_finds_the_page(app, store):
    phone = Phone(app.test_client())
    phone.dial()
    for typed in ["1", "98", "8"]:  # Vegetables, page 2, Tomatoes
        phone.send(typed)
    assert phone.send("2").startswith("CON Tomatoes 500g KSh 65 each.\nHow many?")
    assert phone.send("0").startswith("CON Tomatoes: choose a size")
    assert phone.send("0") == PAGE_TWO


def test_a_list_reached_forward_opens_on_page_one(app, store):
    phone = Phone(app.test_client())
    phone.dial()
    for typed in ["1", "98", "8", "00"]:  # Tomatoes from page 2, then home
        phone.send(typed)
    assert phone.send("1").startswith("CON Choose a product:\n1. Cabbage")
