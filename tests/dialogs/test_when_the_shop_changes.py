"""The merchant changes something while a shopper is mid-journey: a clear screen, never a crash."""
import threading
import time

import httpx
from sqlalchemy import func, select, update

from commerce import carts
from commerce.models import CartLine, Order, Product, ShippingZone, Variant

PHONE = "+254712345678"


def hop(client, text, session="s1"):
    response = client.post("/channels/ussd/africastalking", data={
        "sessionId": session, "serviceCode": "*384*123#", "phoneNumber": PHONE,
        "networkCode": "63902", "text": text})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_delivery_zone_closed_at_the_summary_sends_the_shopper_back_to_choose(app, db, store,
                                                                                caplog):
    client = app.test_client()
    for text in ["", "1", "1*1", "1*1*1", "1*1*1*2"]:  # ... one cabbage, Delivery
        hop(client, text)
    assert hop(client, "1*1*1*2*Kawangware stage 56").startswith("CON Total KSh 160")
    db.execute(update(ShippingZone).values(active=False))
    db.commit()

    screen = hop(client, "1*1*1*2*Kawangware stage 56*7")  # a wrong key: the screen redraws
    assert screen == ("CON We do not deliver to that area.\n"
                      "How do you want your order?\n1. Pick up at Kawangware shop\n0. Back")
    assert "USSD hop failed" not in caplog.text


def test_a_product_taken_off_sale_while_choosing_the_quantity_goes_back_to_the_list(app, db,
                                                                                     store):
    client = app.test_client()
    for text in ["", "1", "1*1"]:  # Cabbage: how many?
        hop(client, text)
    db.execute(update(Product).where(Product.name == "Cabbage").values(active=False))
    db.commit()

    screen = hop(client, "1*1*3")
    assert screen.startswith("CON That product is not available.\nChoose a product:\n"
                             "1. Carrots KSh 90\n")
    assert db.scalar(select(func.count(CartLine.id))) == 0


def test_a_price_raised_before_paying_is_shown_again_not_charged(app, db, store):
    client = app.test_client()
    for text in ["", "1", "1*1", "1*1*1", "1*1*1*1"]:  # ... pick up: the summary
        hop(client, text)
    db.execute(update(Variant).where(Variant.sku == "CABB").values(price=7000))
    db.commit()

    screen = hop(client, "1*1*1*1*1")  # pay
    assert screen.startswith("CON The price of Cabbage has changed. Please check your cart.\n"
                             "1x Cabbage KSh 70\nTotal KSh 70\n")
    assert db.scalar(select(func.count(Order.id))) == 0


def test_a_retry_that_arrives_while_the_first_hop_is_still_running_is_not_applied_twice(
        app, db, store, live_server, monkeypatch):
    add = carts.do_add_to_cart

    def slow_add(*args, **kwargs):  # the database is slow today: the gateway retries
        time.sleep(0.5)
        return add(*args, **kwargs)

    monkeypatch.setattr(carts, "do_add_to_cart", slow_add)
    form = {"sessionId": "slow", "serviceCode": "*384*123#", "phoneNumber": PHONE,
            "networkCode": "63902"}
    for text in ["", "1", "1*1"]:
        httpx.post(f"{live_server}/channels/ussd/africastalking", data={**form, "text": text})
    screens = []

    def send():
        screens.append(httpx.post(f"{live_server}/channels/ussd/africastalking",
                                  data={**form, "text": "1*1*2"}, timeout=30).text)

    first = threading.Thread(target=send)
    first.start()
    time.sleep(0.1)
    send()  # the retry, while the first is still being answered
    first.join()

    assert screens[0] == screens[1]
    assert screens[0].startswith("CON Total KSh 120\n"
                                 "How do you want your order?\n")
    assert db.scalars(select(CartLine.quantity)).all() == [2]
