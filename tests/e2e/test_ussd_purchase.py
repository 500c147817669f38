"""A shopper buys from the demo store over HTTP, exactly as Africa's Talking would carry it."""
from sqlalchemy import select

from channels.ussd_phone import UssdPhone
from commerce.models import Order
from tests.helpers import on_hand

PHONE = "+254712345678"


HOME = ("CON Karibu Mama Mboga Fresh!\n1. Vegetables\n2. Fruits\n3. Grains & Flour\n"
        "4. Dairy & Eggs\n5. Household\n6. Search\n7. My cart\n8. My orders\n9. Language\n"
        "10. Help")


def test_a_shopper_dials_browses_and_buys_for_delivery(live_server, store, db, fake_at,
                                                       run_jobs):
    phone = UssdPhone(live_server, PHONE, "*384*123#")

    assert phone.dial() == HOME
    assert phone.send("1").startswith("CON Choose a product:\n1. Cabbage KSh 60\n")
    phone.send("98")  # next page: Sukuma wiki, Tomatoes
    assert phone.send("8") == "CON Tomatoes: choose a size\n1. 1kg KSh 120\n2. 500g KSh 65\n0. Back"
    assert phone.send("1") == "CON Tomatoes 1kg KSh 120 each.\nHow many? (1-80)\n0. Back"
    assert phone.send("2") == ("CON Total KSh 240\n"
                               "How do you want your order?\n1. Pick up at Kawangware shop\n"
                               "2. Delivery Nairobi West KSh 100\n3. Add more\n4. My cart\n"
                               "0. Back")
    assert phone.send("2") == ("CON Type your delivery address and a landmark, e.g. Kawangware "
                               "stage 56, blue gate:\n0. Back")
    assert phone.send("Kawangware stage 56, blue gate") == (
        "CON Total KSh 340\nincl. delivery KSh 100\n1. Pay cash on delivery\n"
        "2. Discount code\n0. Back")
    assert phone.send("1") == ("END Asante! Order #1001 is placed. Pay KSh 340 cash on delivery. "
                               "We will SMS you a receipt.")

    order = db.scalar(select(Order))
    assert (order.number, order.total, order.shipping_total, order.payment_method,
            order.delivery_method, order.address_text, order.customer.phone) == (
        1001, 34000, 10000, "cod", "delivery", "Kawangware stage 56, blue gate", PHONE)
    assert on_hand(db, "TOMA-1KG") == 78

    run_jobs()
    # The shopper's receipt, and the merchant's new-order alert to the store's phone.
    sent = {m["to"]: m["message"] for m in fake_at.messages}
    assert sorted(sent) == [store.contact_phone, PHONE]
    assert "order #1001 received. 2x Tomatoes 1kg. Total KSh 340.00" in sent[PHONE]
    assert "#1001" in sent[store.contact_phone]


def test_the_terminal_phone_buys_from_the_running_server(app, live_server, store, db):
    result = app.test_cli_runner().invoke(
        args=["ussd", "--url", live_server, "--phone", "0712345678"],
        input="1\n1\n3\n1\n1\n",  # Vegetables, Cabbage, 3, Pickup, Pay
    )
    assert result.exit_code == 0, result.output
    assert "Karibu Mama Mboga Fresh!" in result.output
    assert "Asante! Order #1001 is placed. Pay KSh 180 cash when you collect." in result.output
    assert db.scalar(select(Order.total)) == 18000


def test_the_terminal_phone_says_clearly_when_no_server_answers(app):
    result = app.test_cli_runner().invoke(args=["ussd", "--url", "http://127.0.0.1:9"])
    assert result.exit_code != 0
    assert "Could not reach http://127.0.0.1:9" in result.output


def test_the_terminal_phone_says_when_the_url_is_not_a_duka_server(app, live_server):
    result = app.test_cli_runner().invoke(args=["ussd", "--url", live_server + "/foo"])
    assert result.exit_code == 1
    assert "HTTP 404 with no USSD screen from " in result.output
    assert "<html" not in result.output.lower()


def test_the_terminal_phone_asks_for_a_url_with_its_scheme(app):
    result = app.test_cli_runner().invoke(args=["ussd", "--url", "127.0.0.1:5000"])
    assert result.exit_code == 1
    assert "--url needs http:// or https://" in result.output
