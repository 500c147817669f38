"""A USSD hop that reaches the app twice changes the cart once.

The session in Redis says which hops were applied, but the cart is in the database: when the two
disagree (the session's write after the hop's commit was lost, or the session itself was lost),
the cart's own record of the last step that changed it decides.
"""
import threading
import time

import pytest
from sqlalchemy import event, select

from commerce import carts
from commerce.carts import Step
from commerce.models import CartLine, Order, Store, Variant
from tests.conftest import TEST_DATABASE_URL

PHONE = "+254712345678"


@pytest.fixture
def hop(app, store):
    client = app.test_client()

    def hop(text: str, session: str = "ATUid_1"):
        response = client.post("/channels/ussd/africastalking", data={
            "sessionId": session, "serviceCode": "*384*123#", "phoneNumber": PHONE,
            "networkCode": "63902", "text": text})
        assert response.status_code == 200
        return response.get_data(as_text=True)

    return hop


@pytest.fixture
def sessions(app):
    return app.extensions["duka.channels"].sessions


def quantities(db) -> list[int]:
    db.expire_all()
    return list(db.scalars(select(CartLine.quantity)))


def test_a_retry_after_the_sessions_write_was_lost_adds_nothing_again(hop, sessions, db):
    hop("")
    hop("1")
    hop("1*1")  # How many Cabbage?
    before = sessions.get("ussd:ATUid_1")
    added = ("CON Total KSh 180\nHow do you want your order?\n"
             "1. Pick up at Kawangware shop\n2. Delivery Nairobi West KSh 100\n3. Add more\n"
             "4. My cart\n0. Back")
    assert hop("1*1*3") == added
    # The write of the session after the commit did not reach Redis (a blip): the session
    # still says "How many?" when the gateway retries the hop.
    sessions.set("ussd:ATUid_1", before, 600)

    assert hop("1*1*3") == added
    assert quantities(db) == [3]


def test_a_session_lost_mid_journey_is_replayed_without_adding_twice(hop, sessions, db):
    hop("")
    for text in ["1", "1*1", "1*1*3"]:  # 3 cabbages: how do you want them?
        hop(text)
    sessions.delete("ussd:ATUid_1")  # Redis restarted, or evicted it

    screen = hop("1*1*3*1")  # pick up at the shop: the whole text is replayed
    assert screen == "CON Total KSh 180\n1. Pay cash at pickup\n2. Discount code\n0. Back"
    assert quantities(db) == [3]
    assert hop("1*1*3*1*1").startswith("END Asante! Order #1001 is placed. Pay KSh 180")
    assert db.scalar(select(Order.total)) == 18000


def test_the_end_hop_replayed_after_the_session_was_lost_places_no_second_order(hop, sessions,
                                                                               db):
    order = ["", "1", "1*1", "1*1*3", "1*1*3*1", "1*1*3*1*1"]  # 3 cabbages, pick up, pay cash
    for text in order:
        placed = hop(text)
    assert placed.startswith("END Asante! Order #1001 is placed.")
    sessions.delete("ussd:ATUid_1")  # lost, and the gateway retries the END hop

    hop(order[-1])
    assert db.scalars(select(Order.number)).all() == [1001]
    assert quantities(db) == [3]  # the order's cart; no new cart filled again


def test_after_the_gateway_lost_track_a_change_is_made_however_it_is_numbered(hop, db):
    for text in ["", "1", "1*1", "1*1*3", "1*1*3*4", "1*1*3*4*3", "1*1*3*4*3*1",
                 "1*1*3*4*3*1*1"]:  # 3 cabbages, My cart, Change quantities, Cabbage, Change
        hop(text)
    assert hop("1*1*3*4*3*1*1*4").startswith("CON 4x Cabbage")  # step 8 set it to 4
    # The gateway restarts its count: its texts grow from "3" now (My cart: Change).
    for text in ["3", "3*1", "3*1*1"]:
        hop(text)
    assert hop("3*1*1*6").startswith("CON 6x Cabbage")  # "step 4" of the new count
    assert quantities(db) == [6]


def test_the_same_key_pressed_again_later_is_a_new_step_and_is_added(hop, db):
    hop("")
    hop("1")
    hop("1*1")
    hop("1*1*3")
    hop("1*1*3*0")  # back to the cart
    hop("1*1*3*0*0")  # home
    hop("1*1*3*0*0*1")
    hop("1*1*3*0*0*1*1")
    assert hop("1*1*3*0*0*1*1*3") == (
        "CON Total KSh 360\nHow do you want your order?\n"
        "1. Pick up at Kawangware shop\n2. Delivery Nairobi West KSh 100\n3. Add more\n"
        "4. My cart\n0. Back")
    assert quantities(db) == [6]


def test_a_new_session_adds_again(hop, db):
    for text in ["", "1", "1*1", "1*1*3"]:
        hop(text)
    for text in ["", "2", "1", "1*1", "1*1*3"]:  # "Continue?" No; then the same keys
        hop(text, session="ATUid_2")
    assert quantities(db) == [6]


def test_a_copy_of_an_earlier_step_does_not_undo_a_later_change(db, store, customer):
    cabbage = db.scalar(select(Variant.id).where(Variant.sku == "CABB"))
    carts.do_add_to_cart(db, store, customer.id, cabbage, 2, Step("ussd:S", 3))
    carts.do_set_quantity(db, store, customer.id, cabbage, 5, Step("ussd:S", 6))

    assert carts.do_add_to_cart(db, store, customer.id, cabbage, 2, Step("ussd:S", 3)
                                ).item_count == 5
    assert carts.do_set_quantity(db, store, customer.id, cabbage, 0, Step("ussd:S", 6)
                                 ).item_count == 5
    assert carts.do_set_quantity(db, store, customer.id, cabbage, 4, Step("ussd:S", 7)
                                 ).item_count == 4
    assert carts.do_add_to_cart(db, store, customer.id, cabbage, 1, Step("sms:T", 1)
                                ).item_count == 5
    assert carts.do_add_to_cart(db, store, customer.id, cabbage, 1).item_count == 6
    assert quantities(db) == [6]


@pytest.fixture
def customer(db, store):
    from commerce.customers import get_or_create_customer

    return get_or_create_customer(db, store, PHONE)


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="a race needs PostgreSQL row locks: set "
                    "TEST_DATABASE_URL (SQLite serialises all writers)")
def test_copies_of_a_step_running_at_once_add_once(app, db, store, customer):
    """A hop slower than the session's lock (15 s) lets the gateway's retry in beside it. The
    copies open the cart at once: one opens it, the others wait for it and then find the step
    already taken."""
    cabbage = db.scalar(select(Variant.id).where(Variant.sku == "CABB"))
    engine = app.extensions["duka.engine"]
    barrier, errors = threading.Barrier(8), []

    def slow_open(conn, cursor, statement, *_):
        if statement.startswith("INSERT INTO carts"):
            time.sleep(0.2)  # the copies' inserts arrive while the first is still open

    def copy() -> None:
        try:
            with app.extensions["duka.db"]() as session:
                own_store = session.get(Store, store.id)
                barrier.wait(timeout=30)
                carts.do_add_to_cart(session, own_store, customer.id, cabbage, 3,
                                     Step("ussd:S", 3))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    event.listen(engine, "after_cursor_execute", slow_open)
    try:
        threads = [threading.Thread(target=copy) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        event.remove(engine, "after_cursor_execute", slow_open)
    assert errors == []
    assert quantities(db) == [3]
