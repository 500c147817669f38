"""What the USSD checkout offers and promises about paying is what happens next: a way to pay
that cannot carry the total is not offered, a free order is not asked to pay, and the last
screen names the prompt or the link that the provider will really send."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from commerce import drafts, order_payments, promotions, stores
from commerce.db import utcnow
from commerce.models import Order, Payment, Variant
from commerce.money import Money
from payments import jobs
from payments.base import LINK, PROMPT, PROMPT_OR_LINK
from payments.registry import get_provider
from tests.fakes.paystack import FakePaystack
from tests.helpers import variant_by_sku

PHONE = "+254712345678"
TO_SUMMARY = ["1", "1", "1", "1"]  # Vegetables, Cabbage (KSh 60), one, pick up


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


@pytest.mark.parametrize("takes_cash", [True, False], ids=["cash", "M-Pesa only"])
def test_a_free_order_is_placed_paid_with_nothing_to_pay(shopper, db, store, simulated_mpesa,
                                                         takes_cash, fake_at, run_jobs):
    stores.do_update_store_details(db, store, accepts_cash=takes_cash)
    promotions.do_create_discount_code(db, store, "FREE", kind="percentage", value=10000)
    assert shopper.to_summary("FREE") == ("CON Total KSh 0\nafter FREE -KSh 60\n"
                                         "1. Place order (nothing to pay)\n"
                                         "2. Remove discount code\n0. Back")
    assert shopper("1") == ("END Asante! Order #1001 is placed. There is nothing to pay. We will "
                            "SMS you a receipt.")
    order = db.scalar(select(Order))
    assert (order.total, order.financial_status, order.status) == (0, "paid", "paid")
    assert db.scalar(select(func.count(Payment.id))) == 0  # no prompt for nothing
    run_jobs()
    [receipt] = [m["message"] for m in fake_at.messages if m["to"] == PHONE]
    assert "Total KSh 0.00. You have nothing to pay." in receipt
    db.execute(update(Order).values(created_at=utcnow() - timedelta(days=1)))
    db.commit()
    assert jobs.cancel_unpaid_orders(db) == 0  # not "not paid in time"


def test_mpesa_is_not_offered_for_a_total_with_cents(shopper, db, store, simulated_mpesa):
    promotions.do_create_discount_code(db, store, "SAVE125", kind="percentage", value=1250)
    assert shopper.to_summary("SAVE125") == ("CON Total KSh 52.50\nafter SAVE125 -KSh 7.50\n"
                                            "1. Pay cash at pickup\n"
                                            "2. Remove discount code\n0. Back")


def test_flutterwave_in_a_kenyan_shop_is_an_mpesa_prompt_and_says_so(shopper, configure, flw,
                                                                     run_jobs):
    configure("flutterwave", {}, {"secret_key": flw.secret_key, "secret_hash": flw.secret_hash})
    assert shopper.to_summary() == ("CON Total KSh 60\n1. Pay with M-Pesa\n"
                                    "2. Pay cash at pickup\n3. Discount code\n0. Back")
    assert shopper("1") == ("END Asante! Order #1001 is placed. Enter your M-Pesa PIN when "
                            "asked, to pay KSh 60.")
    run_jobs()
    assert [call["query"] for call in flw.calls("POST", "/v3/charges")] == [{"type": "mpesa"}]


def test_paystacks_m_pesa_prompt_is_not_offered_for_cents(shopper, configure, db, store):
    cabbage = variant_by_sku(db, store, "CABB")
    db.execute(update(Variant).where(Variant.id == cabbage.id).values(price=5250))
    db.commit()
    configure("paystack", {"mode": "mobile_money"}, {"secret_key": "sk_test_duka_promises"})
    assert shopper.to_summary() == ("CON Total KSh 52.50\n1. Pay cash at pickup\n"
                                    "2. Discount code\n0. Back")


@pytest.mark.parametrize("mode, label, promise", [
    ("card", "Pay by card (link by SMS)", "We will SMS you a link to pay KSh 60."),
    ("mobile_money", "Pay with M-Pesa", "Enter your M-Pesa PIN when asked, to pay KSh 60."),
])
def test_paystack_says_what_its_mode_will_send(shopper, configure, mode, label, promise):
    configure("paystack", {"mode": mode}, {"secret_key": "sk_test_duka_promises"})
    assert shopper.to_summary() == (f"CON Total KSh 60\n1. {label}\n2. Pay cash at pickup\n"
                                    "3. Discount code\n0. Back")
    assert shopper("1") == f"END Asante! Order #1001 is placed. {promise}"


def dial(app, *typed: str, session: str = "s9") -> str:
    """The screen after dialling and typing ``typed`` in one new session."""
    client, screen = app.test_client(), ""
    for count in range(len(typed) + 1):
        screen = client.post("/channels/ussd/africastalking", data={
            "sessionId": session, "serviceCode": "*384*123#", "phoneNumber": PHONE,
            "networkCode": "63902", "text": "*".join(typed[:count])}).get_data(as_text=True)
    return screen


def test_a_free_draft_is_placed_paid_too(app, db, store):
    cabbage = variant_by_sku(db, store, "CABB")
    db.execute(update(Variant).where(Variant.id == cabbage.id).values(price=0))
    db.commit()
    drafts.do_create_draft_order(db, store, PHONE, {cabbage.id: 1}, actor="staff:amina")
    assert dial(app, "8", "1", "1") == ("CON Pay KSh 0 for order #1001:\n"
                                        "1. Place order (nothing to pay)\n0. Back")
    assert dial(app, "8", "1", "1", "1", session="s10") == (
        "END Asante! Order #1001 is placed. There is nothing to pay. We will SMS you a receipt.")
    order = db.scalar(select(Order))
    assert (order.financial_status, order.status) == ("paid", "paid")


def test_pay_now_asks_for_what_is_still_owed(app, db, store, simulated_mpesa):
    assert dial(app, "1", "1", "1", "1", "2") == (  # 2: cash
        "END Asante! Order #1001 is placed. Pay KSh 60 cash when you collect. "
        "We will SMS you a receipt.")
    order = db.scalar(select(Order))
    order_payments.do_record_payment(db, store, order.id, "cod", 2000, "CASH-1")  # KSh 20 paid
    assert dial(app, "8", "1", "1", session="s2") == (
        "CON Pay KSh 40 for order #1001:\n1. Pay with M-Pesa\n0. Back")
    assert "Order #1001 is placed." in dial(app, "8", "1", "1", "1", session="s3")
    assert db.scalar(select(Payment.amount).where(Payment.method == "mpesa")) == 4000


def test_pay_now_is_not_offered_when_what_is_owed_has_cents_m_pesa_cannot_carry(
        app, db, store, simulated_mpesa):
    assert dial(app, "1", "1", "1", "1", "2").startswith("END Asante! Order #1001")  # cash
    order = db.scalar(select(Order))  # with KSh 60 owed, My orders offers Pay now (M-Pesa)
    order_payments.do_record_payment(db, store, order.id, "cod", 2050, "CASH-1")  # KSh 39.50 owed
    assert dial(app, "8", "1", session="s2") == ("CON #1001 Awaiting payment\n1x Cabbage\n"
                                                 "Total KSh 60\n1. Order again, pay cash\n"
                                                 "0. Back")


def test_ordering_again_offers_no_way_that_cannot_carry_the_total(app, db, store,
                                                                   simulated_mpesa):
    cabbage = variant_by_sku(db, store, "CABB")
    db.execute(update(Variant).where(Variant.id == cabbage.id).values(price=5250))
    db.commit()
    assert dial(app, "1", "1", "1", "1", "1").startswith("END Asante! Order #1001")  # cash
    stores.do_update_store_details(db, store, accepts_cash=False)  # M-Pesa only now
    assert dial(app, "8", "1", session="s2") == (
        "CON #1001 Awaiting payment\n1x Cabbage\nTotal KSh 52.50\n0. Back")


@pytest.mark.parametrize("provider, settings, currency, asked", [
    ("paystack", {"mode": "card"}, "NGN", LINK),
    ("paystack", {"mode": " Mobile_Money "}, "KES", PROMPT),  # as initiate reads the mode
    ("paystack", {"mode": "mobile_money"}, "GHS", PROMPT_OR_LINK),  # may answer open_url
    ("flutterwave", {}, "KES", PROMPT), ("flutterwave", {}, "UGX", PROMPT_OR_LINK),
    ("flutterwave", {}, "NGN", LINK), ("mpesa", {}, "KES", PROMPT), ("momo", {}, "UGX", PROMPT),
])
def test_each_provider_says_how_it_will_ask(app, provider, settings, currency, asked):
    assert get_provider(provider).how_asked(settings, currency) == asked


@pytest.mark.parametrize("provider, settings, amount, takes", [
    ("mpesa", {}, Money(52600, "KES"), True), ("mpesa", {}, Money(52650, "KES"), False),
    ("flutterwave", {}, Money(5050, "KES"), False), ("flutterwave", {}, Money(5050, "NGN"), True),
    ("paystack", {"mode": "card"}, Money(5050, "KES"), True),
    ("paystack", {"mode": "mobile_money"}, Money(5050, "KES"), False),  # an M-Pesa prompt
    ("paystack", {"mode": "mobile_money"}, Money(5000, "KES"), True),
    ("paystack", {"mode": "mobile_money"}, Money(5050, "GHS"), True),
    ("paystack", {"mode": "mobile_money"}, Money(5000, "NGN"), False),  # no wallet to prompt
])
def test_a_provider_says_which_amounts_it_can_carry(app, provider, settings, amount, takes):
    assert get_provider(provider).can_collect(settings, amount) is takes
