"""Paystack over real HTTP against a local fake: the demo store (KES) takes M-Pesa through
Paystack's mobile-money charge; a Lagos store (NGN) sends a card checkout link by SMS. Webhooks
are POSTed to the app's live server, signed as Paystack signs them."""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from commerce import carts, checkout
from commerce import refunds as commerce_refunds
from commerce.catalog import VariantInput, do_create_product
from commerce.customers import get_or_create_customer
from commerce.db import utcnow
from commerce.inventory import do_adjust_stock
from commerce.models import Location, Payment, Refund, Variant
from commerce.stores import do_create_store
from payments import jobs, service
from payments.base import CANCELLED, EXPIRED, FAILED, PENDING, SUCCEEDED
from payments.refunds import do_refund_payment
from tests.fakes.paystack import FakePaystack, signature
from tests.helpers import events_named, fresh, place_order

SECRET = "sk_test_4f1c0mamamboga00000000000000000000000"
LAGOS_SECRET = "sk_test_9a2biyabasira000000000000000000000000"
LAGOS_PHONE = "+2348031234567"


@pytest.fixture
def fake():
    fake = FakePaystack().start()
    fake.add_account(SECRET)
    fake.add_account(LAGOS_SECRET)
    yield fake
    fake.stop()


@pytest.fixture
def app(make_app, fake):
    return make_app(PAYSTACK_BASE_URL=fake.url, PAYMENT_HTTP_TIMEOUT="1")


@pytest.fixture
def mobile_money(configure, public_url, fake):
    """The demo store takes M-Pesa through its own Paystack account."""
    fake.webhook_url = f"{public_url}/payments/paystack/webhook"
    return configure("paystack", {"mode": "mobile_money"}, {"secret_key": SECRET})


def open_shop(db, configure, slug, name, currency, country, timezone, mode, secret):
    """A store with one product (KES/NGN/GHS 2,500.00) in stock, taking Paystack in ``mode``."""
    shop = do_create_store(db, slug, name, currency, country, "en", ["en"], timezone)
    location = Location(store_id=shop.id, name="Kitchen", kind="shop", position=0)
    db.add(location)
    db.commit()
    product = do_create_product(db, shop, "Jollof rice tray",
                                variants=[VariantInput(sku="JOLL-TRAY", price=250000)])
    do_adjust_stock(db, shop, product.variants[0].id, location.id, 20, "received")
    configure("paystack", {"mode": mode}, {"secret_key": secret}, store_=shop)
    return shop


@pytest.fixture
def lagos(db, configure, public_url, fake):
    """A Lagos store selling in NGN that takes cards through Paystack."""
    fake.webhook_url = f"{public_url}/payments/paystack/webhook"
    return open_shop(db, configure, "iya-basira", "Iya Basira Foods", "NGN", "NG",
                     "Africa/Lagos", "card", LAGOS_SECRET)


def shop_order(db, shop, phone=LAGOS_PHONE):
    """One tray of jollof rice: 2,500.00, i.e. 250000 kobo (or pesewas)."""
    customer = get_or_create_customer(db, shop, phone)
    variant = db.scalar(select(Variant).where(Variant.store_id == shop.id))
    carts.do_add_to_cart(db, shop, customer.id, variant.id, 1)
    return checkout.do_place_order(db, shop, customer.id, payment_method="paystack")


def current(db, payment) -> Payment:
    """The payment as the database has it now."""
    db.expire_all()
    return db.get(Payment, payment.id)


def reference_of(store, order, payment) -> str:
    return f"DK{store.id}-{order.number}-{payment.id}"


def age(db, payment, minutes=2, expires_in=None):
    """Make the payment look ``minutes`` old, so the reconciler asks about it; its time to
    wait runs out ``expires_in`` from now (default: already out)."""
    now = utcnow()
    expires = now + (expires_in if expires_in is not None else timedelta(minutes=-1))
    db.execute(update(Payment).where(Payment.id == payment.id)
               .values(created_at=now - timedelta(minutes=minutes), expires_at=expires))
    db.commit()


def reconcile(app, run_jobs):
    with app.app_context():
        jobs.reconcile_payments()
    run_jobs()


def sms_texts(fake_at) -> list[str]:
    return [m["message"] for m in fake_at.messages]


# -- mobile money (the demo store, KES) ---------------------------------------------------------
def test_an_mpesa_prompt_paid_by_webhook_pays_the_order(app, db, store, fake, fake_at,
                                                        mobile_money, request_payment,
                                                        callbacks, run_jobs):
    order = place_order(db, store, payment_method="paystack")
    payment = request_payment(order, "paystack")
    reference = reference_of(store, order, payment)
    [asked] = fake.calls("POST", "/charge")
    assert asked["body"] == {
        "email": "254712345678@customers.duka.africa", "amount": 34000, "currency": "KES",
        "reference": reference,
        "mobile_money": {"phone": "+254712345678", "provider": "mpesa"}}
    assert asked["headers"]["Authorization"] == f"Bearer {SECRET}"
    assert (payment.status, payment.provider_reference, payment.redirect_url) == (
        PENDING, reference, None)

    fake_at.messages.clear()
    answer = fake.complete(reference)
    run_jobs()
    assert (answer.status_code, answer.json()) == (200, {})
    now = fresh(db, order.id)
    assert (now.status, now.financial_status) == ("paid", "paid")
    paid = current(db, payment)
    assert (paid.status, paid.amount, paid.currency, paid.reference) == (
        SUCCEEDED, 34000, "KES", reference)
    transaction_id = fake.find(reference)["id"]
    assert callbacks() == [(f"charge.success:{transaction_id}", "applied")]
    [receipt] = sms_texts(fake_at)
    assert receipt.startswith("Mama Mboga Fresh: we received KSh 340.00 by ")
    assert receipt.endswith(f" ref {reference} for order #1001. Asante!")


def test_a_webhook_delivered_twice_pays_once(app, db, store, fake, fake_at, mobile_money,
                                             request_payment, callbacks, run_jobs):
    order = place_order(db, store, payment_method="paystack")
    payment = request_payment(order, "paystack")
    reference = reference_of(store, order, payment)
    fake_at.messages.clear()
    first = fake.complete(reference)
    again = fake.send_webhook(fake.webhook_body(fake.find(reference)))
    run_jobs()
    assert (first.status_code, again.status_code) == (200, 200)
    assert callbacks() == [(f"charge.success:{fake.find(reference)['id']}", "applied")]
    assert len(events_named(db, "order.paid")) == 1
    assert len(sms_texts(fake_at)) == 1  # one receipt
    assert fresh(db, order.id).financial_status == "paid"


def test_a_bad_or_missing_signature_is_refused_and_changes_nothing(
        app, db, store, fake, mobile_money, request_payment, callbacks):
    order = place_order(db, store, payment_method="paystack")
    payment = request_payment(order, "paystack")
    reference = reference_of(store, order, payment)
    body = fake.webhook_body(fake.settle(reference, "success"))
    for sign in ({"key": "sk_test_not_the_shops_key"}, {"header": ""},
                 {"header": "deadbeef" * 16}):
        refused = fake.send_webhook(body, **sign)
        assert (refused.status_code, refused.json()["error"]["code"]) == (401, "bad_signature")
    assert current(db, payment).status == PENDING
    assert fresh(db, order.id).financial_status == "pending"
    assert callbacks() == []


def test_the_signature_is_over_the_raw_bytes_not_the_json(app, db, store, fake,
                                                          mobile_money, request_payment):
    order = place_order(db, store, payment_method="paystack")
    payment = request_payment(order, "paystack")
    reference = reference_of(store, order, payment)
    body = fake.webhook_body(fake.settle(reference, "success"))
    original = json.dumps(body, separators=(",", ":")).encode()
    reordered = json.dumps({"data": dict(reversed(list(body["data"].items()))),
                            "event": body["event"]}).encode()
    assert json.loads(reordered) == json.loads(original)
    # The same JSON written differently, carrying the signature of the original bytes.
    moved = fake.send_webhook(reordered, signed_as=original, key=SECRET)
    assert moved.status_code == 401
    assert current(db, payment).status == PENDING
    # Paystack's own way: hex HMAC-SHA512 of the body as sent, keyed with the secret key.
    assert signature(original, SECRET) == hmac.new(SECRET.encode(), original,
                                                   hashlib.sha512).hexdigest()
    taken = fake.send_webhook(original, header=signature(original, SECRET))
    assert taken.status_code == 200
    assert current(db, payment).status == SUCCEEDED


def test_a_webhook_that_is_not_json_or_lacks_fields_is_refused(app, db, store, fake,
                                                               public_url, mobile_money,
                                                               request_payment, callbacks):
    order = place_order(db, store, payment_method="paystack")
    payment = request_payment(order, "paystack")
    reference = reference_of(store, order, payment)
    record = fake.settle(reference, "success")
    no_reference = fake.webhook_body(record)
    del no_reference["data"]["reference"]
    no_id = fake.webhook_body(record)
    del no_id["data"]["id"]
    for raw in (b"{oops", b"[1, 2]", json.dumps({"event": "charge.success"}).encode(),
                json.dumps({"data": {"reference": reference}}).encode(),
                json.dumps(no_reference).encode()):
        answer = fake.send_webhook(raw, key=SECRET)
        assert (answer.status_code, answer.json()["error"]["code"]) == (400, "bad_callback")
    signed_but_no_id = fake.send_webhook(no_id)
    assert (signed_but_no_id.status_code, signed_but_no_id.json()["error"]["code"]) == (
        400, "bad_callback")
    assert current(db, payment).status == PENDING
    assert callbacks() == []


def test_a_wrong_amount_is_recorded_and_flagged_not_applied(app, db, store, fake,
                                                            mobile_money, request_payment,
                                                            callbacks, run_jobs):
    order = place_order(db, store, payment_method="paystack")
    payment = request_payment(order, "paystack")
    reference = reference_of(store, order, payment)
    answer = fake.complete(reference, amount=100)  # KSh 1.00 paid for KSh 340.00
    assert answer.status_code == 200
    transaction_id = fake.find(reference)["id"]
    other_currency = fake.webhook_body(fake.find(reference))
    other_currency["data"].update(id=transaction_id + 1, amount=34000, currency="UGX")
    assert fake.send_webhook(other_currency).status_code == 200
    unreadable = fake.webhook_body(fake.find(reference))
    unreadable["data"].update(id=transaction_id + 2, amount="a lot")
    assert fake.send_webhook(unreadable).status_code == 400
    assert callbacks() == [(f"charge.success:{transaction_id}", "flagged"),
                           (f"charge.success:{transaction_id + 1}", "flagged")]
    assert current(db, payment).status == PENDING
    assert fresh(db, order.id).financial_status == "pending"
    age(db, payment, expires_in=timedelta(minutes=5))
    reconcile(app, run_jobs)  # verify says the same short amount: still not applied
    assert current(db, payment).status == PENDING


def test_unknown_references_and_other_events_are_acknowledged_and_ignored(
        app, db, store, fake, mobile_money, request_payment, callbacks):
    order = place_order(db, store, payment_method="paystack")
    payment = request_payment(order, "paystack")
    reference = reference_of(store, order, payment)
    stranger = fake.webhook_body(fake.settle(reference, "success"))
    stranger["data"]["reference"] = "T685312322670591"  # a sale the shop made elsewhere
    refund = {"event": "refund.processed", "data": {
        "status": "processed", "transaction_reference": reference,
        "refund_reference": "132013318360", "amount": "34000", "currency": "KES",
        "integration": 412829, "domain": "test"}}
    for body in (stranger, refund):
        answer = fake.send_webhook(body, key=SECRET)
        assert (answer.status_code, answer.json()) == (200, {})
    assert current(db, payment).status == PENDING
    assert callbacks() == []


def test_a_prompt_with_no_webhook_is_settled_by_verify(app, db, store, fake, fake_at,
                                                       mobile_money, request_payment,
                                                       run_jobs):
    order = place_order(db, store, payment_method="paystack")
    payment = request_payment(order, "paystack")
    reference = reference_of(store, order, payment)
    age(db, payment, expires_in=timedelta(minutes=5))
    reconcile(app, run_jobs)  # Paystack: still ongoing, and there is time left
    assert current(db, payment).status == PENDING
    fake.settle(reference, "success")  # paid, but the webhook never comes
    fake_at.messages.clear()
    reconcile(app, run_jobs)
    paid = current(db, payment)
    assert (paid.status, paid.reference) == (SUCCEEDED, reference)
    assert fresh(db, order.id).status == "paid"
    assert [path for path in (r["path"] for r in fake.requests) if "verify" in path] == [
        f"/transaction/verify/{reference}"] * 2
    assert len(sms_texts(fake_at)) == 1 and "we received KSh 340.00" in sms_texts(fake_at)[0]


@pytest.mark.parametrize("said, status, reason", [
    ("Transaction cancelled by user", CANCELLED, "You cancelled the M-Pesa prompt."),
    ("Insufficient funds", FAILED, "Not enough money in your M-Pesa account."),
    ("Invalid PIN entered", FAILED, "Wrong PIN."),
    ("Request timed out", EXPIRED, "No answer came from your phone in time."),
])
def test_a_prompt_that_did_not_go_through_tells_the_shopper_why(
        app, db, store, fake, fake_at, mobile_money, request_payment, run_jobs, said, status,
        reason):
    order = place_order(db, store, payment_method="paystack")
    payment = request_payment(order, "paystack")
    fake.settle(reference_of(store, order, payment), "failed", gateway_response=said)
    age(db, payment, expires_in=timedelta(minutes=5))
    fake_at.messages.clear()
    reconcile(app, run_jobs)
    settled = current(db, payment)
    assert (settled.status, settled.failure_reason) == (status, reason)
    assert fresh(db, order.id).financial_status == "pending"
    [told] = sms_texts(fake_at)
    assert f"payment for order #1001 failed: {reason.rstrip('.')}. To try again" in told


def test_a_failure_after_success_changes_nothing(app, db, store, fake, fake_at, mobile_money,
                                                 request_payment, run_jobs):
    order = place_order(db, store, payment_method="paystack")
    payment = request_payment(order, "paystack")
    reference = reference_of(store, order, payment)
    fake.complete(reference)
    run_jobs()  # the receipt goes out
    fake.settle(reference, "failed", gateway_response="Declined")
    age(db, payment)
    fake_at.messages.clear()
    reconcile(app, run_jobs)
    assert current(db, payment).status == SUCCEEDED
    assert fresh(db, order.id).financial_status == "paid"
    assert sms_texts(fake_at) == []
    assert fake.calls("GET", f"/transaction/verify/{reference}") == []  # settled: not asked


def test_money_approved_at_once_pays_at_once(app, db, store, fake, mobile_money,
                                             request_payment):
    fake.charge_status = "success"
    order = place_order(db, store, payment_method="paystack")
    payment = request_payment(order, "paystack")
    assert payment.status == SUCCEEDED
    assert fresh(db, order.id).financial_status == "paid"


@pytest.mark.parametrize("answer, said, reason", [
    ("send_otp", None, "Your wallet asks for a code we cannot take here. Please pay another "
                       "way."),
    ("failed", "Insufficient Funds", "Not enough money in your M-Pesa account."),
])
def test_a_charge_refused_at_once_fails_plainly(app, db, store, fake, mobile_money,
                                                request_payment, answer, said, reason):
    fake.charge_status = answer
    fake.charge_gateway_response = said or "Declined"
    order = place_order(db, store, payment_method="paystack")
    payment = request_payment(order, "paystack")
    assert (payment.status, payment.failure_reason) == (FAILED, reason)
    assert fresh(db, order.id).financial_status == "pending"


def test_a_number_without_mpesa_is_not_sent_to_paystack(app, db, store, fake, mobile_money,
                                                        request_payment):
    order = place_order(db, store, payment_method="paystack", phone="+254733123456")  # Airtel
    payment = request_payment(order, "paystack")
    assert (payment.status, payment.failure_reason) == (
        FAILED, "This number has no M-Pesa wallet we can prompt. Please pay another way.")
    assert fake.requests == []


def test_a_wrong_secret_key_fails_the_payment_plainly(app, db, store, fake, configure,
                                                      public_url, request_payment):
    configure("paystack", {"mode": "mobile_money"}, {"secret_key": "sk_test_revoked"})
    order = place_order(db, store, payment_method="paystack")
    payment = request_payment(order, "paystack")
    assert (payment.status, payment.failure_reason) == (
        FAILED, "This shop cannot take Paystack payments just now. Please pay another way.")
    assert fake.transactions == {}


def test_paystack_failing_at_initiation_is_retried_without_charging_twice(
        app, db, store, fake, mobile_money, request_payment):
    fake.fail_next = 1  # one 500, then the job's retry gets through
    order = place_order(db, store, payment_method="paystack")
    payment = request_payment(order, "paystack")
    assert payment.status == PENDING
    assert len(fake.calls("POST", "/charge")) == 2
    assert len(fake.transactions) == 1


def test_paystack_down_at_every_try_of_the_initiation_fails_the_payment(
        app, db, store, fake, mobile_money, request_payment):
    fake.fail_next = 100
    order = place_order(db, store, payment_method="paystack")
    payment = request_payment(order, "paystack")
    assert (payment.status, payment.provider_reference, payment.failure_reason) == (
        FAILED, None, service.NO_ANSWER)
    assert len(fake.calls("POST", "/charge")) == 1 + jobs.INITIATE_RETRIES
    assert fake.transactions == {}


def test_a_prompt_whose_answer_timed_out_is_not_sent_twice(app, db, store, fake, fake_at,
                                                           mobile_money, request_payment,
                                                           run_jobs):
    fake.hang_next = 1  # Paystack sends the prompt, but its answer comes after our timeout
    order = place_order(db, store, payment_method="paystack")
    payment = request_payment(order, "paystack")
    reference = reference_of(store, order, payment)
    assert (payment.status, payment.provider_reference) == (PENDING, reference)
    assert len(fake.calls("POST", "/charge")) == 2  # the retry was refused as a duplicate
    assert len(fake.transactions) == 1
    fake.complete(reference)
    assert fresh(db, order.id).financial_status == "paid"


@pytest.mark.parametrize("lost", ["timed out", "gateway's 504"])
def test_a_prompt_sent_on_the_last_try_whose_answer_was_lost_waits_for_the_shopper(
        app, db, store, fake, mobile_money, request_payment, lost):
    fake.fail_next = jobs.INITIATE_RETRIES  # down at every try but the last...
    if lost == "timed out":  # ...which sends the prompt, and answers after our timeout
        fake.hang_next = 1
    else:  # ...or whose answer the gateway in front of Paystack gave up waiting for
        fake.gateway_timeout_next = 1
    order = place_order(db, store, payment_method="paystack")
    payment = request_payment(order, "paystack")
    reference = reference_of(store, order, payment)
    # Not failed: Pay now would prompt a second time.
    assert (payment.status, payment.provider_reference) == (PENDING, reference)
    assert [t["reference"] for t in fake.transactions.values()] == [reference]
    fake.complete(reference)
    assert fresh(db, order.id).financial_status == "paid"


def test_a_card_link_made_on_the_last_try_but_never_seen_fails_for_a_fresh_try(
        app, db, store, lagos, fake, request_payment):
    fake.fail_next = jobs.INITIATE_RETRIES
    fake.hang_next = 1  # the last try made the link, but its answer came too late
    order = shop_order(db, lagos)
    payment = request_payment(order, "paystack", store_=lagos)
    assert (payment.status, payment.failure_reason) == (FAILED, service.NO_ANSWER)
    again = request_payment(order, "paystack", store_=lagos)  # no one holds that link
    assert again.status == PENDING
    assert again.redirect_url.startswith("https://checkout.paystack.com/")


@pytest.mark.parametrize("trouble", ["fail_next", "hang_next"])
def test_paystack_failing_a_status_query_leaves_the_payment_pending(
        app, db, store, fake, mobile_money, request_payment, run_jobs, trouble):
    order = place_order(db, store, payment_method="paystack")
    payment = request_payment(order, "paystack")
    fake.settle(reference_of(store, order, payment), "success")
    setattr(fake, trouble, 2)  # the query and its one retry
    age(db, payment, expires_in=timedelta(minutes=5))
    reconcile(app, run_jobs)
    assert current(db, payment).status == PENDING
    reconcile(app, run_jobs)  # Paystack is back
    assert current(db, payment).status == SUCCEEDED


def test_a_refund_is_queued_at_paystack_in_part_or_whole_never_more(app, db, store, fake,
                                                                    mobile_money,
                                                                    request_payment):
    order = place_order(db, store, payment_method="paystack")
    payment = request_payment(order, "paystack")
    reference = reference_of(store, order, payment)
    fake.complete(reference)
    assert current(db, payment).status == SUCCEEDED
    ctx = app.extensions["duka.payments"]
    with app.app_context():
        part = do_refund_payment(db, ctx, store, payment.id, 10000, reason="bruised tomatoes")
        with pytest.raises(commerce_refunds.RefundExceedsPayment):
            do_refund_payment(db, ctx, store, payment.id, 24001)
        rest = do_refund_payment(db, ctx, store, payment.id, 24000)
    assert [r["body"] for r in fake.calls("POST", "/refund")] == [
        {"transaction": reference, "amount": 10000, "merchant_note": "bruised tomatoes"},
        {"transaction": reference, "amount": 24000}]
    assert [(r.status, r.amount, r.provider_reference) for r in (part, rest)] == [
        ("pending", 10000, str(fake.refunds[0]["id"])),
        ("pending", 24000, str(fake.refunds[1]["id"]))]
    assert fake.find(reference)["refunded"] == 34000


def test_a_refund_paystack_refuses_is_marked_failed(app, db, store, fake, mobile_money,
                                                    request_payment):
    order = place_order(db, store, payment_method="paystack")
    payment = request_payment(order, "paystack")
    reference = reference_of(store, order, payment)
    fake.complete(reference)
    fake.find(reference)["refunded"] = 30000  # refunded from the Paystack dashboard already
    assert current(db, payment).status == SUCCEEDED
    ctx = app.extensions["duka.payments"]
    with app.app_context():
        refund = do_refund_payment(db, ctx, store, payment.id, 10000)
    assert (refund.status, refund.amount) == ("failed", 10000)
    db.expire_all()
    assert db.scalars(select(Refund.status)).all() == ["failed"]


# -- card links (a Lagos store, NGN) ------------------------------------------------------------
def test_a_card_payment_link_goes_by_sms_and_its_webhook_pays(app, db, store, lagos, fake,
                                                              fake_at, request_payment,
                                                              run_jobs):
    order = shop_order(db, lagos)
    fake_at.messages.clear()
    payment = request_payment(order, "paystack", store_=lagos)
    reference = reference_of(lagos, order, payment)
    [asked] = fake.calls("POST", "/transaction/initialize")
    assert asked["body"] == {"email": "2348031234567@customers.duka.africa", "amount": 250000,
                             "currency": "NGN", "reference": reference, "channels": ["card"]}
    assert asked["headers"]["Authorization"] == f"Bearer {LAGOS_SECRET}"
    assert payment.status == PENDING
    assert payment.redirect_url.startswith("https://checkout.paystack.com/")
    run_jobs()
    link_sms = [m for m in fake_at.messages if payment.redirect_url in m["message"]]
    assert [(m["to"], m["message"]) for m in link_sms] == [
        (LAGOS_PHONE, f"Iya Basira Foods: pay N2,500.00 for order #{order.number} here: "
                      f"{payment.redirect_url}")]
    fake_at.messages.clear()
    assert fake.complete(reference).status_code == 200
    run_jobs()
    now = fresh(db, order.id)
    assert (now.status, now.financial_status) == ("paid", "paid")
    assert current(db, payment).amount == 250000
    assert ["we received N2,500.00" in text for text in sms_texts(fake_at)] == [True]


def test_asking_to_pay_again_while_the_link_is_open_sends_the_same_link_again(
        db, lagos, fake, fake_at, request_payment, run_jobs):
    """A shopper who lost the SMS chooses Pay now: the link comes again, and no second one
    (the first could still be paid: two open links could take the money twice)."""
    order = shop_order(db, lagos)
    payment = request_payment(order, "paystack", store_=lagos)
    run_jobs()
    fake_at.messages.clear()

    again = request_payment(order, "paystack", store_=lagos)
    run_jobs()
    assert again.id == payment.id
    assert len(fake.calls("POST", "/transaction/initialize")) == 1
    assert [m["message"] for m in fake_at.messages] == [
        f"Iya Basira Foods: pay N2,500.00 for order #{order.number} here: "
        f"{payment.redirect_url}"]


def test_an_unopened_card_link_waits_then_expires(app, db, store, lagos, fake, fake_at,
                                                  request_payment, run_jobs):
    order = shop_order(db, lagos)
    payment = request_payment(order, "paystack", store_=lagos)
    assert fake.find(reference_of(lagos, order, payment))["status"] == "abandoned"
    age(db, payment, minutes=10, expires_in=timedelta(minutes=20))
    reconcile(app, run_jobs)  # abandoned is what an unopened link is: keep waiting
    assert current(db, payment).status == PENDING
    age(db, payment, minutes=31)
    reconcile(app, run_jobs)
    assert current(db, payment).status == EXPIRED
    assert fresh(db, order.id).financial_status == "pending"


def test_a_card_link_whose_answer_timed_out_is_failed_for_a_fresh_try(app, db, store, lagos,
                                                                      fake, request_payment):
    fake.hang_next = 1  # Paystack made the link, but we never saw it
    order = shop_order(db, lagos)
    payment = request_payment(order, "paystack", store_=lagos)
    assert (payment.status, payment.failure_reason, payment.redirect_url) == (
        FAILED, "The payment link was not made.", None)
    assert len(fake.transactions) == 1
    again = request_payment(order, "paystack", store_=lagos)  # the shopper asks again
    assert again.id != payment.id and again.status == PENDING
    assert again.redirect_url.startswith("https://checkout.paystack.com/")


def test_a_webhook_for_another_stores_payment_signed_with_our_key_is_refused(
        app, db, store, lagos, fake, mobile_money, request_payment, callbacks):
    order = place_order(db, store, payment_method="paystack")
    payment = request_payment(order, "paystack")
    reference = reference_of(store, order, payment)
    body = fake.webhook_body(fake.settle(reference, "success"))
    answer = fake.send_webhook(body, key=LAGOS_SECRET)  # the Lagos shop's key, not Mama's
    assert answer.status_code == 401
    assert current(db, payment).status == PENDING
    assert callbacks() == []


# -- mobile money in Ghana (GHS) -----------------------------------------------------------------
@pytest.mark.parametrize("phone, sent, provider, status", [
    ("+233551234987", "0551234987", "mtn", PENDING),
    ("+233201234567", "0201234567", "vod", FAILED),  # Telecel asks for a voucher code
])
def test_a_ghana_wallet_is_read_from_the_shoppers_number(app, db, store, fake, configure,
                                                         public_url, request_payment, phone,
                                                         sent, provider, status):
    accra = open_shop(db, configure, "auntie-ama", "Auntie Ama Chop Bar", "GHS", "GH",
                      "Africa/Accra", "mobile_money", SECRET)
    if provider == "vod":
        fake.charge_status = "send_otp"
    order = shop_order(db, accra, phone)
    payment = request_payment(order, "paystack", store_=accra)
    [asked] = fake.calls("POST", "/charge")
    assert (asked["body"]["amount"], asked["body"]["currency"],
            asked["body"]["mobile_money"]) == (250000, "GHS", {"phone": sent,
                                                               "provider": provider})
    assert payment.status == status
