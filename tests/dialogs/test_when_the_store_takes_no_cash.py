"""A store that turned cash on delivery off (``Store.accepts_cash``): checkout offers only its
gateways, and a store with no way to pay at all says so instead of showing an empty menu."""
import pytest
from sqlalchemy import func, select

from commerce import drafts, stores
from commerce.models import Order
from payments import gateways
from tests.admin.conftest import add_staff, bearer
from tests.helpers import place_order, variant_by_sku

PHONE = "+254712345678"
SUMMARY = "1*1*1*1"  # Vegetables, Cabbage, one, pick up: the ways to pay
CART_SAYS_NO = ("CON Sorry, this shop cannot take payment here now.\n1x Cabbage KSh 60\n"
                "Total KSh 60\n1. Checkout\n2. Add more\n3. Change quantities\n0. Back")


@pytest.fixture
def hop(app, store):
    client = app.test_client()

    def hop(text, session="s1"):
        response = client.post("/channels/ussd/africastalking", data={
            "sessionId": session, "serviceCode": "*384*123#", "phoneNumber": PHONE,
            "networkCode": "63902", "text": text})
        screen = response.get_data(as_text=True)
        assert response.status_code == 200 and len(screen) <= 160, screen
        return screen

    return hop


@pytest.fixture
def simulated_mpesa(app, db, store):
    """M-Pesa as ``flask --app wsgi demo`` gives it: simulated, offered on a demo server."""
    app.extensions["duka.payments"].allow_simulated = True
    gateways.do_configure_gateway(db, store, app.extensions["duka.payments"].secrets, "mpesa",
                                  simulated=True)


def to_summary(hop):
    keys = SUMMARY.split("*")
    for n in range(len(keys) + 1):  # the dial, then one hop a key
        screen = hop("*".join(keys[:n]))
    return screen


def orders(db):
    return db.scalar(select(func.count(Order.id)))


def test_a_store_taking_only_simulated_mpesa_offers_no_cash(hop, db, store, simulated_mpesa):
    assert store.accepts_cash is True  # the demo store takes cash
    stores.do_update_store_details(db, store, accepts_cash=False)
    assert to_summary(hop) == "CON Total KSh 60\n1. Pay with M-Pesa\n2. Discount code\n0. Back"


def test_cash_turned_off_in_the_api_is_gone_at_the_next_screen(app, hop, db, store,
                                                               simulated_mpesa):
    assert to_summary(hop) == ("CON Total KSh 60\n1. Pay with M-Pesa\n2. Pay cash at pickup\n"
                               "3. Discount code\n0. Back")
    owner = bearer(app, add_staff(db, store, "+254700999888"))
    answer = app.test_client().patch("/api/v1/store", headers=owner,
                                     json={"accepts_cash": False})
    assert answer.status_code == 200
    # "2" was cash on the screen the shopper still sees: it is not taken, and no order placed.
    assert hop(SUMMARY + "*2") == ("CON Please reply with a number from the list.\n"
                                   "Total KSh 60\n1. Pay with M-Pesa\n2. Discount code\n0. Back")
    assert orders(db) == 0


def test_no_cash_and_no_gateway_is_said_on_the_cart_not_shown_as_an_empty_menu(hop, db, store):
    stores.do_update_store_details(db, store, accepts_cash=False)
    for text in ["", "1", "1*1", "1*1*1"]:
        hop(text)
    assert hop("1*1*1*1") == CART_SAYS_NO  # Checkout: before choosing delivery for nothing
    assert orders(db) == 0


def test_cash_turned_off_at_the_summary_sends_the_shopper_back_to_the_cart(hop, db, store):
    assert "1. Pay cash at pickup" in to_summary(hop)
    stores.do_update_store_details(db, store, accepts_cash=False)
    assert hop(SUMMARY + "*1") == CART_SAYS_NO  # the cash choice, on the screen as it was
    assert orders(db) == 0


def test_a_draft_in_a_store_taking_no_payment_says_so(hop, db, store):
    drafts.do_create_draft_order(db, store, PHONE, {variant_by_sku(db, store, "CABB").id: 1},
                                 actor="staff:amina")
    stores.do_update_store_details(db, store, accepts_cash=False)
    assert hop("8*1") == "CON #1001 Awaiting payment\n1x Cabbage\nTotal KSh 60\n1. Pay now\n0. Back"
    assert hop("8*1*1") == "CON Sorry, this shop cannot take payment here now.\n0. Back"


def test_ordering_again_pays_by_a_way_the_store_still_takes(hop, db, store, simulated_mpesa):
    place_order(db, store, payment_method="cod", phone=PHONE)
    stores.do_update_store_details(db, store, accepts_cash=False)
    assert hop("8*1", "s1").endswith("1. Pay now\n2. Order again, pay with M-Pesa\n0. Back")
    gateways.do_disable_gateway(db, store, "mpesa")
    assert hop("8*1", "s2") == "CON #1001 Awaiting payment\n2x Tomatoes 1kg\n1x Onions 1kg\n" \
        "Total KSh 340\n0. Back"  # no "Order again": there is no way to pay for it
