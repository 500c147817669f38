"""Flutterwave v3 end to end: the real httpx client against a local fake Flutterwave, and the
webhooks POSTed over HTTP to the app's live server.

The demo store (KES) gets an M-Pesa prompt through Flutterwave; a Lagos store (NGN) gets a card
checkout link by SMS. Whatever a webhook says, the payment follows what Flutterwave's verify
endpoint says, once per event.
"""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from commerce import carts, catalog, checkout, refunds as commerce_refunds
from commerce.customers import get_or_create_customer
from commerce.db import utcnow
from commerce.inventory import default_location, do_adjust_stock
from commerce.models import Location, Payment, Variant
from commerce.stores import do_create_store
from payments import jobs, service
from payments.base import CANCELLED, EXPIRED, FAILED, PENDING, SUCCEEDED
from payments.refunds import do_refund_payment
from tests.helpers import fresh, place_order


@pytest.fixture
def app(make_app, flw):
    return make_app(FLUTTERWAVE_BASE_URL=flw.url, PAYMENT_HTTP_TIMEOUT="1")


@pytest.fixture
def shop(store, configure, flw, public_url):
    """The demo store takes Flutterwave; its dashboard sends webhooks to our live server."""
    configure("flutterwave", {}, {"secret_key": flw.secret_key, "secret_hash": flw.secret_hash})
    flw.webhook_url = f"{public_url}/payments/flutterwave/webhook"
    return store


def open_shop(db, app, configure, slug, name, currency, country, timezone, price, secrets):
    """Another store with one product at ``price`` (minor units), taking Flutterwave."""
    other = do_create_store(db, slug, name, currency, country, "en", ["en"], timezone)
    db.add(Location(store_id=other.id, name="Shop", kind="shop", position=0))
    db.commit()
    product = catalog.do_create_product(db, other, "Jollof rice", variants=[
        catalog.VariantInput(f"{slug.upper()}-1", price)])
    do_adjust_stock(db, other, product.variants[0].id, default_location(db, other.id).id, 20,
                    "received")
    configure("flutterwave", {}, secrets, store_=other)
    return other


@pytest.fixture
def lagos(app, db, shop, configure):
    """Mama Put Lagos: NGN, so a card link; its own Flutterwave account (other secrets)."""
    return open_shop(db, app, configure, "mama-put", "Mama Put Lagos", "NGN", "NG",
                     "Africa/Lagos", 250050, {"secret_key": "FLWSECK_TEST-duka0fake0key-X",
                                              "secret_hash": "lagos-secret-hash"})


def buy(db, store, phone, run_jobs, fake_at, sku=None, payment_method="flutterwave"):
    """One of ``sku`` (or the demo's KSh 340 basket); the order SMS is sent and forgotten."""
    if sku is None:
        order = place_order(db, store, payment_method=payment_method, phone=phone)
    else:
        customer = get_or_create_customer(db, store, phone)
        variant = db.scalar(select(Variant).where(Variant.store_id == store.id,
                                                  Variant.sku == sku))
        carts.do_add_to_cart(db, store, customer.id, variant.id, 1)
        order = checkout.do_place_order(db, store, customer.id, payment_method=payment_method)
    run_jobs()
    fake_at.messages.clear()
    return order


def texts(fake_at):
    return [m["message"] for m in fake_at.messages]


def make_old(db, payment, expires_in_minutes=10):
    db.execute(update(Payment).where(Payment.id == payment.id).values(
        created_at=utcnow() - timedelta(minutes=2),
        expires_at=utcnow() + timedelta(minutes=expires_in_minutes)))
    db.commit()


def reconcile(app):
    with app.app_context():
        jobs.reconcile_payments()


# -- M-Pesa through Flutterwave (KES) -------------------------------------------------------------
def test_an_mpesa_prompt_paid_pays_the_order_and_texts_a_receipt(
        app, db, shop, flw, fake_at, request_payment, payment_now, run_jobs, callbacks):
    order = buy(db, shop, "+254712345678", run_jobs, fake_at)
    payment = request_payment(order, "flutterwave")
    tx_ref = f"DK{shop.id}-1001-{payment.id}"
    assert (payment.status, payment.provider_reference, payment.redirect_url) == (
        PENDING, tx_ref, None)
    [asked] = flw.calls("POST", "/v3/charges")
    assert asked["query"] == {"type": "mpesa"}
    assert asked["body"] == {"amount": 340, "tx_ref": tx_ref, "currency": "KES",
                             "email": "254712345678@customers.duka.africa",
                             "phone_number": "254712345678"}
    assert asked["raw"].startswith('{"amount":340,')  # major units: KSh 340.00 is 340
    assert texts(fake_at) == []  # the prompt is on the phone: no link to send

    answer = flw.complete(tx_ref, "successful")
    run_jobs()
    transaction_id = flw.latest(tx_ref)["id"]
    assert (answer.status_code, answer.json()) == (200, {})
    assert [c["path"] for c in flw.calls("GET", "/v3/transactions/")] == [
        f"/v3/transactions/{transaction_id}/verify"]  # the webhook was checked with Flutterwave
    paid = payment_now(payment.id)
    assert (paid.status, paid.reference, paid.amount) == (SUCCEEDED, str(transaction_id), 34000)
    now = fresh(db, order.id)
    assert (now.status, now.financial_status) == ("paid", "paid")
    assert texts(fake_at) == [f"Mama Mboga Fresh: we received KSh 340.00 by card ref "
                              f"{transaction_id} for order #1001. Asante!"]
    assert callbacks() == [(f"charge.completed:{transaction_id}", "applied")]


def test_cents_go_on_the_wire_as_exact_major_units(app, db, shop, flw, fake_at, configure,
                                                   request_payment, payment_now, run_jobs):
    product = catalog.do_create_product(db, shop, "Mixed fruit box", variants=[
        catalog.VariantInput("BOX-34050", 34050)])
    do_adjust_stock(db, shop, product.variants[0].id, default_location(db, shop.id).id, 5,
                    "received")
    order = buy(db, shop, "+254712345678", run_jobs, fake_at, sku="BOX-34050")
    payment = request_payment(order, "flutterwave")
    [asked] = flw.calls("POST", "/v3/charges")
    assert asked["raw"].startswith('{"amount":340.5,')  # KSh 340.50, never 340.49999
    assert asked["body"]["amount"] == Decimal("340.5")
    flw.complete(payment.provider_reference, "successful")
    run_jobs()
    assert (payment_now(payment.id).status, payment_now(payment.id).amount) == (SUCCEEDED, 34050)
    assert texts(fake_at)[0].startswith("Mama Mboga Fresh: we received KSh 340.50 by card")


@pytest.mark.parametrize("said, status, reason", [
    ("Request cancelled by user", CANCELLED, "You cancelled the M-Pesa payment."),
    ("The balance is insufficient for the transaction", FAILED,
     "Not enough money in your M-Pesa account."),
    ("Wrong PIN entered", FAILED, "Wrong PIN."),
    ("DS timeout user cannot be reached", EXPIRED, "No answer came from your phone in time."),
])
def test_a_prompt_that_fails_tells_the_shopper_why(app, db, shop, flw, fake_at, request_payment,
                                                   payment_now, run_jobs, said, status, reason):
    order = buy(db, shop, "+254712345678", run_jobs, fake_at)
    payment = request_payment(order, "flutterwave")
    assert flw.complete(payment.provider_reference, "failed", processor_response=said
                        ).status_code == 200
    run_jobs()
    now = payment_now(payment.id)
    assert (now.status, now.failure_reason) == (status, reason)
    assert fresh(db, order.id).financial_status == "pending"
    assert texts(fake_at) == [f"Mama Mboga Fresh: your card payment for order #1001 failed: "
                              f"{reason.rstrip('.')}. To try again, dial in and choose My "
                              f"orders, then Pay."]


# -- webhooks: who may speak, and how often -------------------------------------------------------
def test_a_wrong_or_missing_verif_hash_is_rejected_and_changes_nothing(
        app, db, shop, flw, fake_at, request_payment, payment_now, run_jobs, callbacks):
    order = buy(db, shop, "+254712345678", run_jobs, fake_at)
    payment = request_payment(order, "flutterwave")
    wrong = flw.complete(payment.provider_reference, sign={"verif-hash": "guessed"})
    body = flw.webhook_body(flw.latest(payment.provider_reference))
    unsigned = flw.send_webhook(body, sign={})
    forged = flw.send_webhook(body, sign={"flutterwave-signature": "bm9wZQ=="})
    for answer in (wrong, unsigned, forged):
        assert (answer.status_code, answer.json()["error"]["code"]) == (401, "bad_signature")
    run_jobs()
    assert payment_now(payment.id).status == PENDING
    assert fresh(db, order.id).financial_status == "pending"
    assert callbacks() == [] and texts(fake_at) == []
    assert flw.calls("GET", "/v3/transactions/") == []  # not even worth asking Flutterwave


def test_a_correct_flutterwave_signature_is_accepted(app, db, shop, flw, fake_at,
                                                     request_payment, payment_now, run_jobs):
    order = buy(db, shop, "+254712345678", run_jobs, fake_at)
    payment = request_payment(order, "flutterwave")
    answer = flw.complete(payment.provider_reference, "successful", sign="signature")
    assert answer.status_code == 200
    assert payment_now(payment.id).status == SUCCEEDED
    assert fresh(db, order.id).financial_status == "paid"


def test_a_webhook_saying_successful_is_not_believed_when_verify_disagrees(
        app, db, shop, flw, fake_at, request_payment, payment_now, run_jobs, callbacks):
    order = buy(db, shop, "+254712345678", run_jobs, fake_at)
    payment = request_payment(order, "flutterwave")
    tx_ref = payment.provider_reference
    # Verify still says pending: nothing changes, and no key is spent on it.
    assert flw.complete(tx_ref, "pending", webhook_status="successful").status_code == 200
    assert payment_now(payment.id).status == PENDING
    assert callbacks() == []
    # Verify says failed: the payment failed, whatever the webhook claimed.
    flw.complete(tx_ref, "failed", processor_response="Insufficient funds",
                 webhook_status="successful")
    run_jobs()
    now = payment_now(payment.id)
    assert (now.status, now.failure_reason) == (FAILED, "Not enough money in your M-Pesa account.")
    assert fresh(db, order.id).financial_status == "pending"
    transaction_id = flw.latest(tx_ref)["id"]
    assert callbacks() == [(f"charge.completed:{transaction_id}", "applied")]


def test_a_webhook_delivered_twice_is_applied_once(app, db, shop, flw, fake_at, request_payment,
                                                   payment_now, run_jobs, callbacks):
    order = buy(db, shop, "+254712345678", run_jobs, fake_at)
    payment = request_payment(order, "flutterwave")
    first = flw.complete(payment.provider_reference, "successful")
    again = flw.send_webhook(flw.webhook_body(flw.latest(payment.provider_reference)))
    run_jobs()
    assert (first.status_code, again.status_code) == (200, 200)
    transaction_id = flw.latest(payment.provider_reference)["id"]
    assert callbacks() == [(f"charge.completed:{transaction_id}", "applied")]
    assert len(texts(fake_at)) == 1  # one receipt
    assert payment_now(payment.id).status == SUCCEEDED


def test_a_failure_after_the_success_changes_nothing(app, db, shop, flw, fake_at,
                                                     request_payment, payment_now, run_jobs,
                                                     callbacks):
    order = buy(db, shop, "+254712345678", run_jobs, fake_at)
    payment = request_payment(order, "flutterwave")
    tx_ref = payment.provider_reference
    flw.complete(tx_ref, "successful")
    paid_id = flw.latest(tx_ref)["id"]
    # A second, failed attempt on the same tx_ref arrives late.
    assert flw.complete(tx_ref, "failed", processor_response="Insufficient funds",
                        new_attempt=True).status_code == 200
    run_jobs()
    failed_id = flw.latest(tx_ref)["id"]
    assert (payment_now(payment.id).status, payment_now(payment.id).failure_reason) == (
        SUCCEEDED, "")
    assert fresh(db, order.id).financial_status == "paid"
    assert callbacks() == [(f"charge.completed:{paid_id}", "applied"),
                           (f"charge.completed:{failed_id}", "stale")]
    assert len(texts(fake_at)) == 1 and "we received" in texts(fake_at)[0]


def test_a_wrong_amount_is_flagged_not_applied(app, db, shop, flw, fake_at, request_payment,
                                               payment_now, run_jobs, callbacks):
    order = buy(db, shop, "+254712345678", run_jobs, fake_at)
    payment = request_payment(order, "flutterwave")
    assert flw.complete(payment.provider_reference, "successful", amount=Decimal("300")
                        ).status_code == 200
    run_jobs()
    transaction_id = flw.latest(payment.provider_reference)["id"]
    assert payment_now(payment.id).status == PENDING
    assert fresh(db, order.id).financial_status == "pending"
    assert callbacks() == [(f"charge.completed:{transaction_id}", "flagged")]
    assert texts(fake_at) == []


def test_a_body_that_is_not_json_or_lacks_fields_is_refused(app, db, shop, flw, fake_at,
                                                            request_payment, payment_now,
                                                            run_jobs, callbacks):
    order = buy(db, shop, "+254712345678", run_jobs, fake_at)
    payment = request_payment(order, "flutterwave")
    tx_ref = payment.provider_reference
    bodies = [b"{oops", b"[1, 2]", {"event": "charge.completed"},
              {"event": "charge.completed", "data": {"id": 1, "status": "successful"}},
              {"event": "charge.completed", "data": {"tx_ref": tx_ref}}]  # no id, no status
    for body in bodies:
        answer = flw.send_webhook(body)
        assert (answer.status_code, answer.json()["error"]["code"]) == (400, "bad_callback")
    assert payment_now(payment.id).status == PENDING
    assert callbacks() == [] and flw.calls("GET", "/v3/transactions/") == []


def test_an_unknown_reference_or_another_event_is_acknowledged_and_ignored(
        app, db, shop, flw, fake_at, request_payment, payment_now, run_jobs, callbacks):
    order = buy(db, shop, "+254712345678", run_jobs, fake_at)
    payment = request_payment(order, "flutterwave")
    unknown = flw.send_webhook({"event": "charge.completed", "data": {
        "id": 1, "tx_ref": "SOMEONE-ELSES-REF", "status": "successful"}})
    transfer = flw.send_webhook({"event": "transfer.completed", "data": {
        "id": 2, "reference": "TRF-1", "status": "SUCCESSFUL"}})
    assert [(a.status_code, a.json()) for a in (unknown, transfer)] == [(200, {}), (200, {})]
    assert payment_now(payment.id).status == PENDING
    assert callbacks() == []


def test_another_stores_payment_cannot_be_settled_with_this_stores_hash(
        app, db, shop, lagos, flw, fake_at, request_payment, payment_now, run_jobs, callbacks):
    order = buy(db, lagos, "+2348031234567", run_jobs, fake_at, sku="MAMA-PUT-1")
    payment = request_payment(order, "flutterwave", store_=lagos)
    flw.settle(payment.provider_reference, "successful")
    body = flw.webhook_body(flw.latest(payment.provider_reference))
    answer = flw.send_webhook(body)  # signed with the demo store's hash, names Lagos' payment
    assert (answer.status_code, answer.json()["error"]["code"]) == (401, "bad_signature")
    assert payment_now(payment.id).status == PENDING
    assert callbacks() == []
    assert flw.send_webhook(body, sign={"verif-hash": "lagos-secret-hash"}).status_code == 200
    assert payment_now(payment.id).status == SUCCEEDED


# -- cards in Nigeria: a checkout link by SMS ----------------------------------------------------
def test_a_naira_order_gets_a_card_link_by_sms_and_is_paid_through_it(
        app, db, lagos, flw, fake_at, request_payment, payment_now, run_jobs):
    order = buy(db, lagos, "+2348031234567", run_jobs, fake_at, sku="MAMA-PUT-1")
    payment = request_payment(order, "flutterwave", store_=lagos)
    tx_ref = f"DK{lagos.id}-1001-{payment.id}"
    link = flw.checkouts[tx_ref]["link"]
    assert (payment.status, payment.provider_reference, payment.redirect_url) == (
        PENDING, tx_ref, link)
    [asked] = flw.calls("POST", "/v3/payments")
    assert asked["raw"].startswith('{"amount":2500.5,')
    assert asked["body"] == {
        "amount": Decimal("2500.5"), "tx_ref": tx_ref, "currency": "NGN",
        "customer": {"email": "2348031234567@customers.duka.africa",
                     "phonenumber": "2348031234567"},
        "customizations": {"title": "Mama Put Lagos", "description": "Order #1001"},
        "session_duration": 30}
    assert texts(fake_at) == [f"Mama Put Lagos: pay N2,500.50 for order #1001 here: {link}"]

    fake_at.messages.clear()
    assert flw.complete(tx_ref, "successful", sign={"verif-hash": "lagos-secret-hash"}
                        ).status_code == 200
    run_jobs()
    transaction_id = flw.latest(tx_ref)["id"]
    assert (payment_now(payment.id).status, payment_now(payment.id).reference) == (
        SUCCEEDED, str(transaction_id))
    assert fresh(db, order.id).financial_status == "paid"
    assert texts(fake_at) == [f"Mama Put Lagos: we received N2,500.50 by card ref "
                              f"{transaction_id} for order #1001. Asante!"]


@pytest.mark.parametrize("currency, country, zone, phone, price, charge_type, extra, wire", [
    ("GHS", "GH", "Africa/Accra", "+233241234567", 4550, "mobile_money_ghana",
     {"network": "MTN"}, '{"amount":45.5,'),
    ("UGX", "UG", "Africa/Kampala", "+256701234567", 15000, "mobile_money_uganda",
     {"network": "AIRTEL"}, '{"amount":15000,'),
    ("XOF", "SN", "Africa/Dakar", "+221771234567", 2500, "mobile_money_franco",
     {"country": "SN"}, '{"amount":2500,'),
])
def test_other_wallets_are_asked_in_their_own_way(app, db, shop, configure, flw, fake_at,
                                                  request_payment, run_jobs, currency, country,
                                                  zone, phone, price, charge_type, extra, wire):
    other = open_shop(db, app, configure, "duka-" + currency.lower(), f"Duka {currency}",
                      currency, country, zone, price,
                      {"secret_key": flw.secret_key, "secret_hash": "h"})
    order = buy(db, other, phone, run_jobs, fake_at, sku=f"DUKA-{currency}-1")
    payment = request_payment(order, "flutterwave", store_=other)
    [asked] = flw.calls("POST", "/v3/charges")
    assert asked["query"] == {"type": charge_type}
    assert asked["raw"].startswith(wire)  # UGX and XOF have no minor unit: 15000 is 15000
    for name, value in extra.items():
        assert asked["body"][name] == value
    assert payment.status == PENDING
    if charge_type != "mobile_money_franco":  # "redirect" mode: an OTP page, sent by SMS
        assert payment.redirect_url.startswith("https://ravemodal-dev.herokuapp.com/")
        assert texts(fake_at)[0].endswith(payment.redirect_url)


# -- when Flutterwave is slow or silent -----------------------------------------------------------
def test_a_payment_whose_webhook_never_came_is_settled_by_the_status_query(
        app, db, shop, flw, fake_at, request_payment, payment_now, run_jobs):
    order = buy(db, shop, "+254712345678", run_jobs, fake_at)
    payment = request_payment(order, "flutterwave")
    make_old(db, payment)
    reconcile(app)  # Flutterwave still says pending
    assert payment_now(payment.id).status == PENDING
    flw.settle(payment.provider_reference, "successful")  # ...and its webhook is lost
    reconcile(app)
    run_jobs()
    assert flw.calls("GET", "/v3/transactions/verify_by_reference")[-1]["query"] == {
        "tx_ref": payment.provider_reference}
    transaction_id = flw.latest(payment.provider_reference)["id"]
    now = payment_now(payment.id)
    assert (now.status, now.reference) == (SUCCEEDED, str(transaction_id))
    assert fresh(db, order.id).status == "paid"
    assert texts(fake_at) == [f"Mama Mboga Fresh: we received KSh 340.00 by card ref "
                              f"{transaction_id} for order #1001. Asante!"]


def test_a_link_never_opened_waits_then_expires(app, db, lagos, flw, fake_at, request_payment,
                                                payment_now, run_jobs):
    order = buy(db, lagos, "+2348031234567", run_jobs, fake_at, sku="MAMA-PUT-1")
    payment = request_payment(order, "flutterwave", store_=lagos)
    make_old(db, payment)
    reconcile(app)  # "No transaction was found": the shopper has not opened the link yet
    assert payment_now(payment.id).status == PENDING
    make_old(db, payment, expires_in_minutes=-1)
    reconcile(app)
    assert payment_now(payment.id).status == EXPIRED


@pytest.mark.parametrize("trouble", ["fail_next", "hang_next"])
def test_a_status_query_that_fails_leaves_the_payment_pending(app, db, shop, flw, fake_at,
                                                              request_payment, payment_now,
                                                              run_jobs, trouble):
    order = buy(db, shop, "+254712345678", run_jobs, fake_at)
    payment = request_payment(order, "flutterwave")
    flw.settle(payment.provider_reference, "successful")
    make_old(db, payment)
    setattr(flw, trouble, 2)  # the query and its one retry
    reconcile(app)
    assert payment_now(payment.id).status == PENDING
    assert len(flw.calls("GET", "/v3/transactions/verify_by_reference")) == 2
    reconcile(app)  # Flutterwave is back
    assert payment_now(payment.id).status == SUCCEEDED


def test_a_500_at_every_try_of_the_initiation_fails_the_payment(
        app, db, shop, flw, fake_at, request_payment, run_jobs):
    order = buy(db, shop, "+254712345678", run_jobs, fake_at)
    flw.fail_next = 10
    payment = request_payment(order, "flutterwave")
    assert (payment.status, payment.provider_reference, payment.failure_reason) == (
        FAILED, None, service.NO_ANSWER)  # not left waiting for a prompt nobody sends
    assert len(flw.calls("POST", "/v3/charges")) == 1 + jobs.INITIATE_RETRIES
    assert flw.transactions == {}


def test_a_hang_at_initiation_is_retried_without_charging_twice(
        app, db, shop, flw, fake_at, request_payment, payment_now, run_jobs):
    order = buy(db, shop, "+254712345678", run_jobs, fake_at)
    flw.hang_next = 1  # Flutterwave takes the charge but answers after our 1 s timeout
    payment = request_payment(order, "flutterwave")
    tx_ref = f"DK{shop.id}-1001-{payment.id}"
    asked = flw.calls("POST", "/v3/charges")
    assert [a["body"]["tx_ref"] for a in asked] == [tx_ref, tx_ref]  # the retry: same tx_ref
    assert len(flw.transactions) == 1  # one prompt, one charge
    assert (payment.status, payment.provider_reference) == (PENDING, tx_ref)
    flw.complete(tx_ref, "successful")
    assert payment_now(payment.id).status == SUCCEEDED


def test_a_charge_taken_on_the_last_try_whose_answer_was_lost_waits_for_the_shopper(
        app, db, shop, flw, fake_at, request_payment, payment_now, run_jobs):
    order = buy(db, shop, "+254712345678", run_jobs, fake_at)
    flw.fail_next = jobs.INITIATE_RETRIES
    flw.hang_next = 1  # the last try's prompt went out; its answer came after our timeout
    payment = request_payment(order, "flutterwave")
    tx_ref = f"DK{shop.id}-1001-{payment.id}"
    assert (payment.status, payment.provider_reference) == (PENDING, tx_ref)  # not failed
    assert len(flw.transactions) == 1
    flw.complete(tx_ref, "successful")
    assert payment_now(payment.id).status == SUCCEEDED


def test_a_card_link_whose_answer_was_lost_is_failed_for_a_fresh_try(
        app, db, lagos, flw, request_payment, payment_now):
    """Flutterwave made the checkout link, but we never saw it: no one can pay on it, and the
    shopper should not wait half an hour for an SMS that never comes."""
    customer = get_or_create_customer(db, lagos, "+2348031234567")
    variant = db.scalar(select(Variant).where(Variant.store_id == lagos.id))
    carts.do_add_to_cart(db, lagos, customer.id, variant.id, 1)
    order = checkout.do_place_order(db, lagos, customer.id, payment_method="flutterwave")
    flw.hang_next = 1
    payment = request_payment(order, "flutterwave", store_=lagos)
    assert (payment.status, payment.failure_reason, payment.redirect_url) == (
        FAILED, "The payment link was not made.", None)
    again = request_payment(order, "flutterwave", store_=lagos)  # the shopper asks again
    assert again.id != payment.id and again.status == PENDING
    assert again.redirect_url


# -- refunds --------------------------------------------------------------------------------------
def test_refunds_partial_then_the_rest_never_more_than_paid(app, db, shop, flw, fake_at,
                                                            request_payment, payment_now,
                                                            run_jobs):
    order = buy(db, shop, "+254712345678", run_jobs, fake_at)
    payment = request_payment(order, "flutterwave")
    flw.complete(payment.provider_reference, "successful")
    transaction_id = flw.latest(payment.provider_reference)["id"]
    assert payment_now(payment.id).status == SUCCEEDED
    ctx = app.extensions["duka.payments"]
    with app.app_context():
        first = do_refund_payment(db, ctx, shop, payment.id, 10050, reason="bruised tomatoes")
        assert (first.status, first.provider_reference) == ("succeeded", "8612")
        with pytest.raises(commerce_refunds.RefundExceedsPayment):
            do_refund_payment(db, ctx, shop, payment.id, 23951)
        rest = do_refund_payment(db, ctx, shop, payment.id, 23950)
    assert rest.status == "succeeded"
    asked = flw.calls("POST", f"/v3/transactions/{transaction_id}/refund")
    assert [a["raw"] for a in asked] == ['{"amount":100.5}', '{"amount":239.5}']
    assert [r["amount_refunded"] for r in flw.refunds] == [Decimal("100.5"), Decimal("239.5")]
    assert fresh(db, order.id).financial_status == "refunded"


def test_a_full_refund_sends_no_amount_and_a_refused_one_fails(app, db, lagos, flw, fake_at,
                                                               request_payment, payment_now,
                                                               run_jobs):
    order = buy(db, lagos, "+2348031234567", run_jobs, fake_at, sku="MAMA-PUT-1")
    payment = request_payment(order, "flutterwave", store_=lagos)
    flw.complete(payment.provider_reference, "successful",
                 sign={"verif-hash": "lagos-secret-hash"})
    transaction_id = flw.latest(payment.provider_reference)["id"]
    assert payment_now(payment.id).status == SUCCEEDED
    ctx = app.extensions["duka.payments"]
    flw.transactions[transaction_id]["refunded"] = Decimal("2500.5")  # by hand, meanwhile
    with app.app_context():
        refused = do_refund_payment(db, ctx, lagos, payment.id, 250050)
    assert refused.status == "failed"
    flw.transactions[transaction_id]["refunded"] = Decimal("0")
    # Without Flutterwave's id as the receipt, the refund looks the transaction up by tx_ref.
    db.execute(update(Payment).where(Payment.id == payment.id).values(reference="by hand"))
    db.commit()
    with app.app_context():
        done = do_refund_payment(db, ctx, lagos, payment.id, 250050)
    assert done.status == "succeeded"
    asked = flw.calls("POST", f"/v3/transactions/{transaction_id}/refund")
    assert [a["raw"] for a in asked] == ["{}", "{}"]
    assert flw.calls("GET", "/v3/transactions/verify_by_reference")[-1]["query"] == {
        "tx_ref": payment.provider_reference}
    assert fresh(db, order.id).financial_status == "refunded"
