"""MTN MoMo end to end: the real provider module and httpx client against a local fake of MTN's
MoMo API, callbacks over HTTP to the app's live server.

The shop sells in Uganda shillings (no minor units) through ``mtnuganda``; one test uses the
EUR sandbox (two decimals)."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from commerce import carts, checkout
from commerce import refunds as commerce_refunds
from commerce.customers import get_or_create_customer
from commerce.db import utcnow
from commerce.models import Location, Order, Payment, PaymentGateway, Product, Stock, Variant
from commerce.stores import do_create_store
from payments import jobs, service
from payments.base import CANCELLED, EXPIRED, FAILED, PENDING, SUCCEEDED
from payments.refunds import do_refund_payment
from tests.fakes.momo import UUID4, FakeMomo
from tests.helpers import fresh

SHOPPER = "+256772123456"
SETTINGS_PROBLEM = "This shop's MoMo settings are not working. Please pay another way."


@pytest.fixture(scope="session")
def fake_momo():
    fake = FakeMomo().start()
    yield fake
    fake.stop()


@pytest.fixture
def app(make_app, fake_momo):
    fake_momo.reset()
    return make_app(MOMO_BASE_URL=fake_momo.url, PAYMENT_HTTP_TIMEOUT="1")


def make_shop(db, slug="nakato", name="Nakato's Fresh & Green", currency="UGX",
              price=15000, country="UG"):
    """A store with one product: Matooke, ``price`` minor units, 50 in stock."""
    store = do_create_store(db, slug, name, currency, country, "en", ["en"], "Africa/Kampala")
    shop = Location(store_id=store.id, name="Nakasero stall", kind="shop")
    product = Product(store_id=store.id, name="Matooke")
    db.add_all([shop, product])
    db.flush()
    variant = Variant(store_id=store.id, product_id=product.id, sku="MATO", name="bunch",
                      price=price)
    db.add(variant)
    db.flush()
    db.add(Stock(store_id=store.id, variant_id=variant.id, location_id=shop.id, quantity=50))
    db.commit()
    return store


def order_two(db, store, phone=SHOPPER) -> Order:
    customer = get_or_create_customer(db, store, phone)
    variant = db.scalar(select(Variant).where(Variant.store_id == store.id))
    carts.do_add_to_cart(db, store, customer.id, variant.id, 2)
    return checkout.do_place_order(db, store, customer.id, payment_method="momo")


@pytest.fixture
def shop(db, fake_momo, configure, public_url):
    """The Kampala shop, with its MoMo account (a Collection API User at the fake)."""
    store = make_shop(db)
    user, key = fake_momo.add_user()
    configure("momo", {"api_user": user, "target_environment": "mtnuganda"},
              {"api_key": key, "subscription_key": fake_momo.collection_key}, store_=store)
    return store


@pytest.fixture
def pay(request_payment, shop):
    def pay(order, store=None):
        return request_payment(order, "momo", store_=store or shop)
    return pay


def callback_url(db, store) -> str:
    row = db.scalar(select(PaymentGateway).where(PaymentGateway.store_id == store.id,
                                                 PaymentGateway.provider == "momo"))
    return f"/payments/momo/callback/{row.callback_token}"


def make_old(db, payment, expired: bool):
    """As if the payment was asked for a while ago (the reconciler looks at it)."""
    past = utcnow() - timedelta(minutes=2)
    expires = past if expired else utcnow() + timedelta(minutes=5)
    db.execute(update(Payment).where(Payment.id == payment.id)
               .values(created_at=past, expires_at=expires))
    db.commit()


def reconcile(app, db):
    with app.app_context():
        jobs.reconcile_payments()
    db.expire_all()


def texts(fake_at):
    return [m["message"] for m in fake_at.messages]


# -- paying -------------------------------------------------------------------------------------
def test_a_shopper_who_approves_pays_the_order(app, db, shop, pay, fake_momo, fake_at,
                                               run_jobs, public_url, callbacks):
    order = order_two(db, shop)
    payment = pay(order)
    reference = payment.provider_reference
    assert (payment.status, payment.amount, payment.currency) == (PENDING, 30000, "UGX")
    assert UUID4.match(reference)
    [asked] = fake_momo.requests
    assert asked["body"] == {
        "amount": "30000", "currency": "UGX", "externalId": f"DK{shop.id}-1001-{payment.id}",
        "payer": {"partyIdType": "MSISDN", "partyId": "256772123456"},
        "payerMessage": "Nakato s Fresh Green order 1001",  # no "&" or "'": MTN refuses them
        "payeeNote": f"Duka order 1001 payment {payment.id}"}
    assert asked["headers"]["X-Reference-Id"] == reference
    assert asked["headers"]["X-Target-Environment"] == "mtnuganda"
    assert asked["headers"]["X-Callback-Url"] == public_url + callback_url(db, shop)

    fake_momo.settle(reference, "SUCCESSFUL")
    fake_at.messages.clear()
    answer = fake_momo.send_callback(reference, method="PUT")
    assert (answer.status_code, answer.json()) == (200, {})
    run_jobs()
    paid = fresh(db, order.id)
    assert (paid.status, paid.financial_status) == ("paid", "paid")
    db.expire_all()
    assert (db.get(Payment, payment.id).status, db.get(Payment, payment.id).reference) == (
        SUCCEEDED, "4000000001")
    assert texts(fake_at) == [
        "Nakato's Fresh & Green: we received USh 30,000 by MTN MoMo ref 4000000001 for order "
        "#1001. Asante!"]
    assert callbacks() == [(f"{reference}:SUCCESSFUL", "applied")]


def test_a_callback_by_post_naming_its_reference_is_confirmed_too(app, db, shop, pay,
                                                                  fake_momo):
    order = order_two(db, shop)
    payment = pay(order)
    fake_momo.settle(payment.provider_reference, "SUCCESSFUL")
    answer = fake_momo.send_callback(payment.provider_reference, method="POST",
                                     with_reference=True, externalId="someone-else's")
    assert answer.status_code == 200
    assert fresh(db, order.id).financial_status == "paid"


def test_the_sandbox_takes_euros_with_two_decimals(app, db, fake_momo, configure, request_payment,
                                                    public_url):
    store = make_shop(db, slug="sandbox", name="Sandbox Shop", currency="EUR", price=625)
    user, key = fake_momo.add_user()
    configure("momo", {"api_user": user, "target_environment": "sandbox"},
              {"api_key": key, "subscription_key": fake_momo.collection_key}, store_=store)
    order = order_two(db, store, phone="+46733123453")  # MTN's sandbox number
    payment = request_payment(order, "momo", store_=store)
    assert (payment.status, payment.amount) == (PENDING, 1250)
    [asked] = fake_momo.requests
    assert (asked["body"]["amount"], asked["body"]["currency"]) == ("12.50", "EUR")
    assert asked["body"]["payer"]["partyId"] == "46733123453"
    fake_momo.settle(payment.provider_reference, "SUCCESSFUL")
    fake_momo.send_callback(payment.provider_reference)
    assert fresh(db, order.id).financial_status == "paid"


@pytest.mark.parametrize("reason, status, words", [
    ("APPROVAL_REJECTED", CANCELLED, "You declined the MoMo payment request."),
    ("NOT_ENOUGH_FUNDS", FAILED, "Not enough money in your MoMo account."),
    ("INTERNAL_PROCESSING_ERROR", FAILED, "Not enough money in your MoMo account."),
    ("PAYER_NOT_FOUND", FAILED, "That number has no MoMo account."),
    ("COULD_NOT_PERFORM_TRANSACTION", EXPIRED, "The MoMo request expired before you approved it."),
    ("PAYER_DELAYED", FAILED, "MoMo did not take the payment."),
])
def test_a_payment_that_fails_tells_the_shopper_why(app, db, shop, pay, fake_momo, fake_at,
                                                    run_jobs, reason, status, words):
    order = order_two(db, shop)
    payment = pay(order)
    fake_momo.settle(payment.provider_reference, "FAILED", reason=reason)
    fake_at.messages.clear()
    assert fake_momo.send_callback(payment.provider_reference).status_code == 200
    run_jobs()
    db.expire_all()
    failed = db.get(Payment, payment.id)
    assert (failed.status, failed.failure_reason) == (status, words)
    assert fresh(db, order.id).financial_status == "pending"
    assert texts(fake_at) == [
        f"Nakato's Fresh & Green: your MTN MoMo payment for order #1001 failed: {words} To try "
        "again, dial in and choose My orders, then Pay."]


# -- callbacks are confirmed, not believed ------------------------------------------------------
def test_a_callback_claiming_success_is_checked_with_mtn(app, db, shop, pay, fake_momo,
                                                         callbacks):
    order = order_two(db, shop)
    payment = pay(order)
    reference = payment.provider_reference
    # MTN still waits for the shopper: a "SUCCESSFUL" body changes nothing.
    assert fake_momo.send_callback(reference, status="SUCCESSFUL").status_code == 200
    assert (db.get(Payment, payment.id).status, fresh(db, order.id).financial_status) == (
        PENDING, "pending")
    # MTN says FAILED: that is what counts, whatever the body claims.
    fake_momo.settle(reference, "FAILED", reason="NOT_ENOUGH_FUNDS")
    assert fake_momo.send_callback(reference, status="SUCCESSFUL").status_code == 200
    db.expire_all()
    failed = db.get(Payment, payment.id)
    assert (failed.status, failed.failure_reason) == (FAILED,
                                                       "Not enough money in your MoMo account.")
    assert fresh(db, order.id).financial_status == "pending"
    assert callbacks() == [(f"{reference}:FAILED", "applied")]  # "pending" is no news: not kept


def test_a_callback_delivered_twice_is_applied_once(app, db, shop, pay, fake_momo, fake_at,
                                                    run_jobs, callbacks):
    order = order_two(db, shop)
    payment = pay(order)
    fake_momo.settle(payment.provider_reference, "SUCCESSFUL")
    fake_at.messages.clear()
    first = fake_momo.send_callback(payment.provider_reference, method="PUT")
    again = fake_momo.send_callback(payment.provider_reference, method="POST")
    run_jobs()
    assert (first.status_code, again.status_code) == (200, 200)
    assert callbacks() == [(f"{payment.provider_reference}:SUCCESSFUL", "applied")]
    assert len([t for t in texts(fake_at) if "we received" in t]) == 1


def test_a_failure_after_the_success_changes_nothing(app, db, shop, pay, fake_momo, callbacks):
    order = order_two(db, shop)
    payment = pay(order)
    reference = payment.provider_reference
    fake_momo.settle(reference, "SUCCESSFUL")
    fake_momo.send_callback(reference)
    fake_momo.settle(reference, "FAILED", reason="APPROVAL_REJECTED")
    assert fake_momo.send_callback(reference).status_code == 200
    db.expire_all()
    assert db.get(Payment, payment.id).status == SUCCEEDED
    assert fresh(db, order.id).financial_status == "paid"
    assert callbacks() == [(f"{reference}:SUCCESSFUL", "applied"),
                           (f"{reference}:FAILED", "stale")]


def test_a_wrong_amount_is_flagged_not_applied(app, db, shop, pay, fake_momo, callbacks):
    order = order_two(db, shop)
    payment = pay(order)
    fake_momo.settle(payment.provider_reference, "SUCCESSFUL", amount="3000")
    assert fake_momo.send_callback(payment.provider_reference).status_code == 200
    db.expire_all()
    assert db.get(Payment, payment.id).status == PENDING
    assert fresh(db, order.id).financial_status == "pending"
    assert callbacks() == [(f"{payment.provider_reference}:SUCCESSFUL", "flagged")]


def test_bad_callbacks_are_refused_and_change_nothing(app, db, shop, pay, fake_momo, callbacks):
    order = order_two(db, shop)
    payment = pay(order)
    fake_momo.settle(payment.provider_reference, "SUCCESSFUL")
    body = fake_momo.status_body(payment.provider_reference)
    client, url = app.test_client(), callback_url(db, shop)
    unknown = client.put("/payments/momo/callback/not-a-token", json=body)
    assert (unknown.status_code, unknown.json["error"]["code"]) == (404, "not_found")
    for bad in [client.put(url, data="{status: SUCCESSFUL", content_type="application/json"),
                client.post(url, json=["SUCCESSFUL"]),
                client.put(url, json={"status": "SUCCESSFUL", "amount": "30000"}),
                client.post(url, json={**body, "referenceId": "not-a-uuid"})]:
        assert (bad.status_code, bad.json["error"]["code"]) == (400, "bad_callback")
    assert callbacks() == []
    assert db.get(Payment, payment.id).status == PENDING
    assert fresh(db, order.id).financial_status == "pending"


def test_a_callback_naming_another_stores_payment_is_ignored(app, db, shop, pay, fake_momo,
                                                             configure, callbacks):
    other = make_shop(db, slug="kato", name="Kato Groceries")
    user, key = fake_momo.add_user()
    configure("momo", {"api_user": user, "target_environment": "mtnuganda"},
              {"api_key": key, "subscription_key": fake_momo.collection_key}, store_=other)
    theirs = pay(order_two(db, other, phone="+256701999888"), store=other)
    fake_momo.settle(theirs.provider_reference, "SUCCESSFUL")
    body = fake_momo.status_body(theirs.provider_reference)
    client, url = app.test_client(), callback_url(db, shop)
    # Posted to our shop's URL: our MoMo account cannot see their request (404), by its
    # referenceId or by its externalId.
    for sent in [client.put(url, json={**body, "referenceId": theirs.provider_reference}),
                 client.post(url, json=body)]:
        assert (sent.status_code, sent.json) == (200, {})
    assert callbacks() == []
    db.expire_all()
    assert db.get(Payment, theirs.id).status == PENDING


# -- no double charge ---------------------------------------------------------------------------
def test_mtn_failing_at_every_try_fails_the_payment_and_asking_again_prompts_once(
        app, db, shop, pay, fake_momo, run_jobs):
    order = order_two(db, shop)
    fake_momo.fail_next["requesttopay"] = 10  # every try of the job: 500
    payment = pay(order)
    assert (payment.status, payment.provider_reference, payment.failure_reason) == (
        FAILED, None, service.NO_ANSWER)
    assert fake_momo.payments == {}
    fake_momo.fail_next["requesttopay"] = 1  # Pay now: a 500, then the job's retry
    again = pay(order)
    assert again.id != payment.id and again.status == PENDING
    assert list(fake_momo.payments) == [again.provider_reference]


def test_a_request_mtn_took_but_answered_too_late_is_not_asked_again(app, db, shop, pay,
                                                                      fake_momo):
    order = order_two(db, shop)
    fake_momo.hang_next["requesttopay"] = 1  # taken, but the answer outlives our timeout
    payment = pay(order)
    assert payment.status == PENDING
    # The retried job sent the same X-Reference-Id; MTN answered 409 and charged once.
    assert [r["headers"]["X-Reference-Id"] for r in fake_momo.requests] == [
        payment.provider_reference] * 2
    assert list(fake_momo.payments) == [payment.provider_reference]


@pytest.mark.parametrize("lost", ["timed out", "gateway's 504"])
def test_a_request_mtn_took_on_the_last_try_waits_for_its_answer(app, db, shop, pay,
                                                                  fake_momo, lost):
    """MTN was down at every try but the last, which it took without answering in time (or
    the gateway in front of it gave up waiting): the prompt is on the phone, so the payment
    waits under its reference instead of failing (and Pay now prompting a second time)."""
    order = order_two(db, shop)
    fake_momo.fail_next["requesttopay"] = jobs.INITIATE_RETRIES
    if lost == "timed out":
        fake_momo.hang_next["requesttopay"] = 1
    else:
        fake_momo.gateway_timeout_next = 1
    payment = pay(order)
    assert payment.status == PENDING  # not failed
    assert list(fake_momo.payments) == [payment.provider_reference]
    assert fake_momo.requests[-1]["headers"]["X-Reference-Id"] == payment.provider_reference
    fake_momo.settle(payment.provider_reference, "SUCCESSFUL")  # the shopper approves
    make_old(db, payment, expired=False)
    reconcile(app, db)
    assert db.get(Payment, payment.id).status == SUCCEEDED
    assert fresh(db, order.id).financial_status == "paid"


def test_a_shop_with_wrong_momo_credentials_fails_the_payment_plainly(app, db, fake_momo,
                                                                      configure, request_payment,
                                                                      public_url):
    store = make_shop(db)
    user, _ = fake_momo.add_user()
    configure("momo", {"api_user": user, "target_environment": "mtnuganda"},
              {"api_key": "not-the-key", "subscription_key": fake_momo.collection_key},
              store_=store)
    payment = request_payment(order_two(db, store), "momo", store_=store)
    assert (payment.status, payment.failure_reason) == (FAILED, SETTINGS_PROBLEM)
    assert fake_momo.requests == []


def test_a_currency_the_momo_account_does_not_take_fails_the_payment(app, db, fake_momo,
                                                                     configure, request_payment,
                                                                     public_url):
    store = make_shop(db)  # UGX, but a sandbox account (EUR only)
    user, key = fake_momo.add_user()
    configure("momo", {"api_user": user, "target_environment": "sandbox"},
              {"api_key": key, "subscription_key": fake_momo.collection_key}, store_=store)
    payment = request_payment(order_two(db, store), "momo", store_=store)
    assert (payment.status, payment.failure_reason) == (FAILED, SETTINGS_PROBLEM)
    assert fake_momo.payments == {}


# -- tokens -------------------------------------------------------------------------------------
def test_one_token_serves_many_payments_and_a_revoked_one_is_replaced(app, db, shop, pay,
                                                                      fake_momo):
    first = pay(order_two(db, shop))
    second = pay(order_two(db, shop, phone="+256701000111"))
    assert (first.status, second.status) == (PENDING, PENDING)
    assert len(fake_momo.token_requests) == 1
    fake_momo.revoke_tokens()  # MTN no longer takes the cached token: 401, a new one, again
    third = pay(order_two(db, shop, phone="+256701000222"))
    assert third.status == PENDING
    assert len(fake_momo.token_requests) == 2
    assert len(fake_momo.payments) == 3


# -- reconciliation -----------------------------------------------------------------------------
def test_a_payment_whose_callback_never_came_is_settled_by_asking_mtn(app, db, shop, pay,
                                                                      fake_momo):
    order = order_two(db, shop)
    payment = pay(order)
    make_old(db, payment, expired=False)
    reconcile(app, db)  # MTN: still pending
    assert db.get(Payment, payment.id).status == PENDING
    fake_momo.settle(payment.provider_reference, "SUCCESSFUL")
    reconcile(app, db)
    assert db.get(Payment, payment.id).status == SUCCEEDED
    assert fresh(db, order.id).financial_status == "paid"


def test_a_failed_payment_is_found_by_reconciliation_too(app, db, shop, pay, fake_momo):
    payment = pay(order_two(db, shop))
    make_old(db, payment, expired=False)
    fake_momo.settle(payment.provider_reference, "FAILED", reason="EXPIRED")
    reconcile(app, db)
    reconciled = db.get(Payment, payment.id)
    assert (reconciled.status, reconciled.failure_reason) == (
        EXPIRED, "The MoMo request expired before you approved it.")


@pytest.mark.parametrize("trouble", ["fail_next", "hang_next"])
def test_mtn_failing_a_status_query_leaves_the_payment_pending(app, db, shop, pay, fake_momo,
                                                               trouble):
    payment = pay(order_two(db, shop))
    fake_momo.settle(payment.provider_reference, "SUCCESSFUL")
    make_old(db, payment, expired=False)
    getattr(fake_momo, trouble)["status"] = 2  # the query and its retry
    reconcile(app, db)
    assert db.get(Payment, payment.id).status == PENDING


def test_an_unanswered_request_expires(app, db, shop, pay, fake_momo):
    order = order_two(db, shop)
    payment = pay(order)
    make_old(db, payment, expired=True)
    reconcile(app, db)
    expired = db.get(Payment, payment.id)
    assert (expired.status, expired.failure_reason) == (
        EXPIRED, "No answer came from your phone in time.")


# -- refunds ------------------------------------------------------------------------------------
def give_refund_account(app, db, store, fake_momo):
    """The shop's Disbursement API User for refunds (optional fields, set on the row as
    ``gateways.check_gateway`` does not take optional fields yet)."""
    user, key = fake_momo.add_user("disbursement")
    row = db.scalar(select(PaymentGateway).where(PaymentGateway.store_id == store.id,
                                                 PaymentGateway.provider == "momo"))
    box = app.extensions["duka.payments"].secrets
    row.settings = {**row.settings, "disbursement_api_user": user}
    row.secrets = box.seal({**box.open(row.secrets), "disbursement_api_key": key,
                            "disbursement_subscription_key": fake_momo.disbursement_key})
    db.commit()


def paid_order(db, shop, pay, fake_momo):
    order = order_two(db, shop)
    payment = pay(order)
    fake_momo.settle(payment.provider_reference, "SUCCESSFUL")
    fake_momo.send_callback(payment.provider_reference)
    assert fresh(db, order.id).financial_status == "paid"
    return order, payment


def test_a_refund_goes_back_through_momo_in_parts_never_above_the_payment(app, db, shop, pay,
                                                                          fake_momo):
    order, payment = paid_order(db, shop, pay, fake_momo)
    give_refund_account(app, db, shop, fake_momo)
    ctx = app.extensions["duka.payments"]
    with app.app_context():
        part = do_refund_payment(db, ctx, shop, payment.id, 10000, reason="bruised matooke")
        assert part.status == "succeeded"
        with pytest.raises(commerce_refunds.RefundExceedsPayment):
            do_refund_payment(db, ctx, shop, payment.id, 20001)
        rest = do_refund_payment(db, ctx, shop, payment.id, 20000)
        assert rest.status == "succeeded"
    assert [r["body"]["amount"] for r in fake_momo.refund_requests] == ["10000", "20000"]
    first = fake_momo.refund_requests[0]
    assert first["body"]["referenceIdToRefund"] == payment.provider_reference
    assert (first["body"]["currency"], first["body"]["payerMessage"]) == ("UGX",
                                                                          "bruised matooke")
    assert part.provider_reference == first["headers"]["X-Reference-Id"]
    assert uuid.UUID(part.provider_reference).version == 4
    assert fresh(db, order.id).financial_status == "refunded"


def test_a_refund_momo_has_not_finished_stays_pending(app, db, shop, pay, fake_momo):
    order, payment = paid_order(db, shop, pay, fake_momo)
    give_refund_account(app, db, shop, fake_momo)
    fake_momo.refund_status = "PENDING"
    with app.app_context():
        refund = do_refund_payment(db, app.extensions["duka.payments"], shop, payment.id, 30000)
    assert (refund.status, refund.provider_reference) == (
        "pending", fake_momo.refund_requests[0]["headers"]["X-Reference-Id"])


def test_a_shop_without_a_refund_account_is_told_to_refund_from_the_portal(app, db, shop, pay,
                                                                           fake_momo):
    order, payment = paid_order(db, shop, pay, fake_momo)
    with app.app_context():
        refund = do_refund_payment(db, app.extensions["duka.payments"], shop, payment.id, 30000)
    assert refund.status == "failed"
    assert fake_momo.refund_requests == []
    assert fresh(db, order.id).financial_status == "paid"
