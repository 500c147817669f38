"""The rules every provider shares, with an in-memory provider standing in for the network:
one open payment per order, callbacks applied once, amounts checked, unpaid orders cancelled
with their stock put back, refunds never above what was paid, secrets sealed."""
from __future__ import annotations

import itertools
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from commerce import refunds as commerce_refunds, stores
from commerce.db import utcnow
from commerce.models import Order, Payment, PaymentCallback, PaymentGateway
from commerce.money import Money
from payments import gateways, jobs, service
from payments.base import (
    CANCELLED, EXPIRED, FAILED, PENDING, SUCCEEDED, Initiated, Outcome, RefundOutcome,
)
from payments.refunds import do_refund_payment
from payments.registry import PROVIDERS
from payments.secrets import EncryptionKeyMissing, SecretBox
from tests.conftest import TEST_DATABASE_URL
from tests.helpers import events_named, fresh, on_hand, place_order


class ShopPay:
    """A provider that answers from memory: enough to test the rules around providers."""

    name, label, signed, pending_minutes = "shoppay", "ShopPay", False, 5
    settings_fields, secret_fields = ("till",), ("api_key",)

    def __init__(self):
        self.asked: list = []
        self.refunded: list = []
        self.query_answer = PENDING
        self._ids = itertools.count(1)

    def initiate(self, env, gateway, charge):
        self.asked.append((gateway.secrets["api_key"], charge))
        return Initiated(provider_reference=f"SP{next(self._ids)}")

    def query(self, env, gateway, provider_reference, charge):
        return Outcome(provider_reference, self.query_answer)

    def refund(self, env, gateway, payment, amount, reason):
        self.refunded.append(amount)
        return RefundOutcome(SUCCEEDED, provider_reference=f"R{len(self.refunded)}")


@pytest.fixture
def shoppay(app, db, store):
    provider = PROVIDERS["shoppay"] = ShopPay()
    app.extensions["duka.payments"].base_urls["shoppay"] = "http://127.0.0.1:9"
    gateways.do_configure_gateway(db, store, app.extensions["duka.payments"].secrets,
                                  "shoppay", {"till": "5555"}, {"api_key": "sk_live_secret"})
    yield provider
    del PROVIDERS["shoppay"]


@pytest.fixture
def pay(app, db, store, shoppay, run_jobs):
    def pay(order, method="shoppay"):
        with app.app_context():
            payment = service.do_request_payment(db, store, order.id, method)
        run_jobs()
        db.expire_all()
        return db.get(Payment, payment.id)
    return pay


def success(payment, key="cb-1", amount=None):
    return Outcome(payment.provider_reference, SUCCEEDED,
                   amount=amount or Money(payment.amount, payment.currency),
                   receipt="RCPT123", dedup_key=key)


def test_secrets_are_stored_sealed_and_open_only_with_the_key(app, db, store, shoppay):
    row = db.scalar(select(PaymentGateway).where(PaymentGateway.provider == "shoppay"))
    assert "sk_live_secret" not in row.secrets
    box = app.extensions["duka.payments"].secrets
    assert gateways.config_for(row, box, "https://duka.example").secrets == {
        "api_key": "sk_live_secret"}
    with pytest.raises(EncryptionKeyMissing):
        gateways.do_configure_gateway(db, store, SecretBox(None), "shoppay", {"till": "1"},
                                      {"api_key": "other"})
    db.expire_all()
    assert box.open(db.get(PaymentGateway, row.id).secrets) == {"api_key": "sk_live_secret"}


def test_a_gateway_missing_a_credential_is_refused(app, db, store, shoppay):
    with pytest.raises(gateways.InvalidGateway) as refused:
        gateways.do_configure_gateway(db, store, app.extensions["duka.payments"].secrets,
                                      "shoppay", {"till": "1"}, {})
    assert refused.value.details == {"missing": ["api_key"]}


def test_the_store_offers_its_enabled_gateways_then_cash(app, db, store, shoppay):
    assert gateways.offered_methods(db, store, allow_simulated=False) == ("shoppay", "cod")
    gateways.do_disable_gateway(db, store, "shoppay")
    assert gateways.offered_methods(db, store, allow_simulated=False) == ("cod",)


def test_a_store_that_takes_no_cash_offers_only_its_gateways(app, db, store, shoppay):
    stores.do_update_store_settings(db, store, accepts_cash=False)
    assert gateways.offered_methods(db, store, allow_simulated=False) == ("shoppay",)
    gateways.do_disable_gateway(db, store, "shoppay")
    assert gateways.offered_methods(db, store, allow_simulated=False) == ()  # nothing at all
    stores.do_update_store_settings(db, store, accepts_cash=True)
    assert gateways.offered_methods(db, store, allow_simulated=False) == ("cod",)


def test_a_simulated_gateway_is_offered_only_on_a_demo_server(app, db, store):
    gateways.do_configure_gateway(db, store, app.extensions["duka.payments"].secrets, "mpesa",
                                  simulated=True)
    assert gateways.offered_methods(db, store, allow_simulated=False) == ("cod",)
    assert gateways.offered_methods(db, store, allow_simulated=True) == ("mpesa", "cod")


def test_asking_twice_prompts_once(app, db, store, pay, shoppay):
    order = place_order(db, store, payment_method="mpesa")
    first, second = pay(order), pay(order)
    assert first.id == second.id
    assert (first.status, first.amount, first.provider_reference) == (PENDING, 34000, "SP1")
    assert len(shoppay.asked) == 1
    assert shoppay.asked[0][0] == "sk_live_secret"  # the store's own key, opened for the call
    assert events_named(db, "payment.requested") == [
        {"order_id": order.id, "payment_id": first.id, "method": "shoppay"}]


def test_another_way_to_pay_waits_for_the_open_payment(app, db, store, pay):
    order = place_order(db, store, payment_method="mpesa")
    pay(order)
    gateways.do_configure_gateway(db, store, app.extensions["duka.payments"].secrets, "mpesa",
                                  simulated=True)
    with pytest.raises(service.PaymentInProgress):
        service.do_request_payment(db, store, order.id, "mpesa", allow_simulated=True)
    with pytest.raises(service.PaymentMethodUnavailable):
        service.do_request_payment(db, store, order.id, "cod")


def test_a_callback_that_failed_midway_is_not_remembered_so_its_retry_applies(
        app, db, store, pay, monkeypatch):
    """The callback's key is saved under a savepoint; if applying it then fails, the key goes
    with the rest, or the provider's retry would be taken for a duplicate and never applied.
    (On SQLite a savepoint that opened the transaction committed on its own.)"""
    order = place_order(db, store, payment_method="mpesa")
    payment = pay(order)
    apply = service._apply

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(service, "_apply", broken)
    with pytest.raises(RuntimeError):
        service.do_apply_outcome(db, payment.id, success(payment))
    assert db.scalars(select(PaymentCallback)).all() == []
    monkeypatch.setattr(service, "_apply", apply)
    assert service.do_apply_outcome(db, payment.id, success(payment)) == "applied"
    assert fresh(db, order.id).financial_status == "paid"


def test_a_success_pays_the_order_once_however_often_it_is_reported(app, db, store, pay,
                                                                    callbacks):
    order = place_order(db, store, payment_method="mpesa")
    payment = pay(order)
    assert service.do_apply_outcome(db, payment.id, success(payment)) == "applied"
    assert service.do_apply_outcome(db, payment.id, success(payment)) == "duplicate"
    failure = Outcome(payment.provider_reference, FAILED, reason="Wrong PIN.", dedup_key="cb-2")
    assert service.do_apply_outcome(db, payment.id, failure) == "stale"  # out of order
    now = fresh(db, order.id)
    assert (now.status, now.financial_status) == ("paid", "paid")
    paid = db.get(Payment, payment.id)
    assert (paid.status, paid.reference) == (SUCCEEDED, "RCPT123")
    assert callbacks() == [("cb-1", "applied"), ("cb-2", "stale")]
    assert len(events_named(db, "order.paid")) == 1
    assert [e["payment_id"] for e in events_named(db, "payment.completed")] == [payment.id]
    with pytest.raises(service.OrderNotPayable):
        service.do_request_payment(db, store, order.id, "shoppay")


def test_a_wrong_amount_is_flagged_not_applied(app, db, store, pay, callbacks):
    order = place_order(db, store, payment_method="mpesa")
    payment = pay(order)
    short = success(payment, amount=Money(100, "KES"))
    assert service.do_apply_outcome(db, payment.id, short) == "flagged"
    other_currency = success(payment, key="cb-2", amount=Money(34000, "UGX"))
    assert service.do_apply_outcome(db, payment.id, other_currency) == "flagged"
    assert db.get(Payment, payment.id).status == PENDING
    assert fresh(db, order.id).financial_status == "pending"
    assert callbacks() == [("cb-1", "flagged"), ("cb-2", "flagged")]


def test_a_cancelled_prompt_tells_the_shopper_why(app, db, store, pay, fake_at, run_jobs):
    order = place_order(db, store, payment_method="mpesa", phone="+254722000111")
    payment = pay(order)
    fake_at.messages.clear()
    service.do_apply_outcome(db, payment.id, Outcome(
        payment.provider_reference, CANCELLED, reason="You cancelled the prompt.",
        dedup_key="cb-1"))
    run_jobs()
    assert db.get(Payment, payment.id).failure_reason == "You cancelled the prompt."
    assert [m["message"] for m in fake_at.messages] == [
        "Mama Mboga Fresh: your shoppay payment for order #1001 failed: You cancelled the "
        "prompt. To try again, dial in and choose My orders, then Pay."]


def test_money_that_arrives_after_we_gave_up_is_still_recorded(app, db, store, pay):
    order = place_order(db, store, payment_method="mpesa")
    payment = pay(order)
    service.do_apply_outcome(db, payment.id, Outcome(payment.provider_reference, EXPIRED))
    assert service.do_apply_outcome(db, payment.id, success(payment)) == "applied"
    assert fresh(db, order.id).financial_status == "paid"


def make_old(db, order, payment=None, minutes=30):
    past = utcnow() - timedelta(minutes=minutes)
    db.execute(update(Order).where(Order.id == order.id).values(created_at=past))
    if payment is not None:
        db.execute(update(Payment).where(Payment.id == payment.id)
                   .values(created_at=past, expires_at=past))
    db.commit()


def test_reconciliation_settles_a_payment_whose_callback_never_came(app, db, store, pay,
                                                                    shoppay):
    order = place_order(db, store, payment_method="mpesa")
    payment = pay(order)
    make_old(db, order, payment, minutes=2)
    db.execute(update(Payment).where(Payment.id == payment.id)
               .values(expires_at=utcnow() + timedelta(minutes=3)))
    db.commit()
    with app.app_context():
        jobs.reconcile_payments()  # the provider still says pending, and there is time left
    assert db.get(Payment, payment.id).status == PENDING
    shoppay.query_answer = SUCCEEDED
    with app.app_context():
        jobs.reconcile_payments()
    db.expire_all()
    assert (db.get(Payment, payment.id).status, fresh(db, order.id).status) == (SUCCEEDED,
                                                                               "paid")


def test_an_unpaid_order_is_cancelled_and_its_stock_goes_back(app, db, store, pay, shoppay):
    before = on_hand(db, "TOMA-1KG")
    order = place_order(db, store, payment_method="mpesa")
    payment = pay(order)
    assert on_hand(db, "TOMA-1KG") == before - 2
    make_old(db, order, payment)
    with app.app_context():
        jobs.reconcile_payments()  # the payment expires, then the order is cancelled
    db.expire_all()
    assert db.get(Payment, payment.id).status == EXPIRED
    assert fresh(db, order.id).status == "cancelled"
    assert on_hand(db, "TOMA-1KG") == before


def test_an_order_with_an_open_payment_or_paid_cash_is_not_cancelled(app, db, store, pay):
    waiting = place_order(db, store, payment_method="mpesa")
    payment = pay(waiting)
    make_old(db, waiting)  # the order is old, but its payment still has time
    cash = place_order(db, store, payment_method="cod", phone="+254733000222")
    make_old(db, cash)
    with app.app_context():
        jobs.reconcile_payments()
    assert db.get(Payment, payment.id).status == PENDING
    assert (fresh(db, waiting.id).status, fresh(db, cash.id).status) == (
        "pending_payment", "pending_payment")


def test_a_refund_goes_back_through_the_provider_and_never_exceeds_the_payment(
        app, db, store, pay, shoppay):
    order = place_order(db, store, payment_method="mpesa")
    payment = pay(order)
    service.do_apply_outcome(db, payment.id, success(payment))
    ctx = app.extensions["duka.payments"]
    with app.app_context():
        first = do_refund_payment(db, ctx, store, payment.id, 10000, reason="bruised tomatoes")
        assert (first.status, first.provider_reference) == ("succeeded", "R1")
        with pytest.raises(commerce_refunds.RefundExceedsPayment):
            do_refund_payment(db, ctx, store, payment.id, 24001)
        do_refund_payment(db, ctx, store, payment.id, 24000)
    assert shoppay.refunded == [Money(10000, "KES"), Money(24000, "KES")]
    assert fresh(db, order.id).financial_status == "refunded"


def test_a_callback_for_an_unknown_token_or_garbage_changes_nothing(app, db, store, pay,
                                                                    callbacks):
    order = place_order(db, store, payment_method="mpesa")
    pay(order)
    client = app.test_client()
    row = db.scalar(select(PaymentGateway).where(PaymentGateway.provider == "shoppay"))
    unknown = client.post("/payments/shoppay/callback/not-a-token", json={"ok": 1})
    assert (unknown.status_code, unknown.json["error"]["code"]) == (404, "not_found")
    garbage = client.post(f"/payments/shoppay/callback/{row.callback_token}", data="{oops",
                          content_type="application/json")
    assert (garbage.status_code, garbage.json["error"]["code"]) == (400, "bad_callback")
    assert callbacks() == []
    assert db.scalars(select(PaymentCallback)).all() == []
    assert fresh(db, order.id).financial_status == "pending"


def _race(app, work, n=4):
    """Run ``work(session)`` in ``n`` threads released together; returns their results."""
    barrier, results, lock = threading.Barrier(n), [], threading.Lock()

    def run():
        with app.app_context(), app.extensions["duka.db"]() as session:
            barrier.wait()
            outcome = work(session)
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


needs_row_locks = pytest.mark.skipif(
    not TEST_DATABASE_URL, reason="races need PostgreSQL row locks: set TEST_DATABASE_URL")


@needs_row_locks
def test_one_callback_delivered_four_times_at_once_pays_once(app, db, store, pay):
    order = place_order(db, store, payment_method="mpesa")
    payment = pay(order)
    outcome = success(payment)
    results = _race(app, lambda session: service.do_apply_outcome(session, payment.id, outcome))
    assert sorted(results) == ["applied", "duplicate", "duplicate", "duplicate"]
    assert len(events_named(db, "order.paid")) == 1


@needs_row_locks
def test_four_taps_on_pay_at_once_open_one_payment(app, db, store, shoppay):
    order = place_order(db, store, payment_method="mpesa")
    results = _race(app, lambda session: service.do_request_payment(
        session, session.get(type(store), store.id), order.id, "shoppay").id)
    assert len(set(results)) == 1
    assert len(db.scalars(select(Payment).where(Payment.order_id == order.id)).all()) == 1


def test_cash_on_delivery_is_marked_paid_by_the_merchant_once(app, db, store):
    from commerce.errors import NotFound
    from payments.cod import do_mark_cash_received

    order = place_order(db, store, payment_method="cod", how="delivery")
    first = do_mark_cash_received(db, store, order.id, actor="rider:Otieno")
    again = do_mark_cash_received(db, store, order.id)
    assert first.id == again.id
    assert (first.amount, first.reference, first.status) == (44000, "cash-1001", SUCCEEDED)
    assert fresh(db, order.id).financial_status == "paid"
    mobile = place_order(db, store, payment_method="mpesa", phone="+254733000222")
    with pytest.raises(service.OrderNotPayable):
        do_mark_cash_received(db, store, mobile.id)
    with pytest.raises(NotFound):
        do_mark_cash_received(db, store, 999999)
