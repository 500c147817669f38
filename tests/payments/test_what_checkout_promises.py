"""What the USSD checkout offers and promises about paying is what happens next: a way to pay
that cannot carry the total is not offered, a free order is not asked to pay, and the last
screen names the prompt or the link that the provider will really send."""
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from commerce import promotions
from commerce.db import utcnow
from commerce.models import Order
from payments import jobs
from tests.fakes.flutterwave import FakeFlutterwave
from tests.fakes.paystack import FakePaystack

PHONE = "+254712345678"
TO_SUMMARY = ["1", "1", "1", "1", "1"]  # Vegetables, Cabbage (KSh 60), one, Checkout, pick up


@pytest.fixture
def flw():
    fake = FakeFlutterwave().start()
    yield fake
    fake.stop()


@pytest.fixture
def paystack():
    fake = FakePaystack().start()
    fake.add_account("sk_test_duka_promises")
    yield fake
    fake.stop()


@pytest.fixture
def app(make_app, flw, paystack):
    return make_app(FLUTTERWAVE_BASE_URL=flw.url, PAYSTACK_BASE_URL=paystack.url,
                    PAYMENT_HTTP_TIMEOUT="1")


@pytest.fixture
def shopper(app, store):
    """Walks to the summary (with a discount code, if given) and returns what each hop
    after that shows."""
    client = app.test_client()
    typed: list[str] = []

    def hop(*keys: str) -> str:
        typed.extend(keys)
        response = client.post("/channels/ussd/africastalking", data={
            "sessionId": "s1", "serviceCode": "*384*123#", "phoneNumber": PHONE,
            "networkCode": "63902", "text": "*".join(typed)})
        screen = response.get_data(as_text=True)
        assert response.status_code == 200 and len(screen) <= 160, screen
        return screen

    def to_summary(code: str | None = None) -> str:
        hop()
        for key in TO_SUMMARY:
            screen = hop(key)
        if code is not None:
            hop(str(screen.count("\n") - 1))  # Discount code: the last choice before Back
            screen = hop(code)
        return screen

    hop.to_summary = to_summary
    return hop


@pytest.fixture
def simulated_mpesa(app, configure):
    app.extensions["duka.payments"].allow_simulated = True
    configure("mpesa", simulated=True)


def test_a_free_order_is_placed_paid_with_nothing_to_pay(shopper, db, store, simulated_mpesa):
    promotions.do_create_discount_code(db, store, "FREE", kind="percentage", value=10000)
    assert shopper.to_summary("FREE") == ("CON Total KSh 0\nafter FREE -KSh 60\n"
                                         "1. Place order (nothing to pay)\n2. Discount code\n"
                                         "0. Back")
    assert shopper("1") == ("END Asante! Order #1001 is placed. There is nothing to pay. We will "
                            "SMS you a receipt.")
    order = db.scalar(select(Order))
    assert (order.total, order.financial_status, order.status) == (0, "paid", "paid")
    db.execute(update(Order).values(created_at=utcnow() - timedelta(days=1)))
    db.commit()
    assert jobs.cancel_unpaid_orders(db) == 0  # not "not paid in time"


def test_mpesa_is_not_offered_for_a_total_with_cents(shopper, db, store, simulated_mpesa):
    promotions.do_create_discount_code(db, store, "SAVE125", kind="percentage", value=1250)
    assert shopper.to_summary("SAVE125") == ("CON Total KSh 52.50\nafter SAVE125 -KSh 7.50\n"
                                            "1. Pay cash at pickup\n2. Discount code\n0. Back")


def test_flutterwave_in_a_kenyan_shop_is_an_mpesa_prompt_and_says_so(shopper, configure, flw,
                                                                     run_jobs):
    configure("flutterwave", {}, {"secret_key": flw.secret_key, "secret_hash": flw.secret_hash})
    assert shopper.to_summary() == ("CON Total KSh 60\n1. Pay with M-Pesa\n"
                                    "2. Pay cash at pickup\n3. Discount code\n0. Back")
    assert shopper("1") == ("END Asante! Order #1001 is placed. Enter your M-Pesa PIN when "
                            "asked, to pay KSh 60.")
    run_jobs()
    assert [call["query"] for call in flw.calls("POST", "/v3/charges")] == [{"type": "mpesa"}]


@pytest.mark.parametrize("mode, label, promise", [
    ("card", "Pay by card (link by SMS)", "We will SMS you a link to pay KSh 60."),
    ("mobile_money", "Pay with M-Pesa", "Enter your M-Pesa PIN when asked, to pay KSh 60."),
])
def test_paystack_says_what_its_mode_will_send(shopper, configure, mode, label, promise):
    configure("paystack", {"mode": mode}, {"secret_key": "sk_test_duka_promises"})
    assert shopper.to_summary() == (f"CON Total KSh 60\n1. {label}\n2. Pay cash at pickup\n"
                                    "3. Discount code\n0. Back")
    assert shopper("1") == f"END Asante! Order #1001 is placed. {promise}"
