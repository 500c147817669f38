"""The demo's simulated M-Pesa: the real Daraja client against the pretend Daraja, which pays
every prompt a moment later; and it answers nothing unless the server is a demo."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from commerce.models import Payment, PaymentGateway
from payments import mpesa_simulator, service
from payments.base import PENDING, SUCCEEDED
from payments.demo import DemoPaymentsError, configure_demo_payments
from payments.jobs import provider_call
from payments.mpesa import provider as mpesa
from tests.helpers import fresh, place_order

SANDBOX = {"MPESA_CONSUMER_KEY": "key", "MPESA_CONSUMER_SECRET": "secret",
           "MPESA_SHORTCODE": "174379", "MPESA_PASSKEY": "passkey"}


@pytest.fixture
def demo(app, db, store, public_url, monkeypatch):
    monkeypatch.setattr(mpesa_simulator, "CALLBACK_DELAY_SECONDS", 1.0)
    ctx = app.extensions["duka.payments"]
    line = configure_demo_payments(db, store, ctx, environ={})
    return ctx, line


def wait_for(check, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_a_simulated_prompt_is_paid_a_moment_later(demo, app, db, store, run_jobs, fake_at,
                                                   payment_now):
    ctx, line = demo
    assert line.startswith("M-Pesa: SIMULATED (no real money)")
    assert ctx.allow_simulated is True
    order = place_order(db, store)
    with app.app_context():
        asked = service.do_request_payment(db, store, order.id, "mpesa", allow_simulated=True)
    run_jobs()
    payment = payment_now(asked.id)
    assert (payment.status, payment.simulated) == (PENDING, True)
    assert payment.provider_reference.startswith("ws_CO_SIM")
    with app.app_context():  # the pretend shopper is still typing
        env, config = provider_call(ctx, db.scalar(select(PaymentGateway)))
        assert mpesa.query(env, config, payment.provider_reference, None).status == PENDING

    assert wait_for(lambda: payment_now(asked.id).status == SUCCEEDED)
    paid = payment_now(asked.id)
    assert paid.reference.startswith("SIM") and len(paid.reference) == 10
    now = fresh(db, order.id)
    assert (now.status, now.financial_status) == ("paid", "paid")

    def receipts() -> list[str]:
        run_jobs()  # the receipt is queued after the callback's commit, which we may outrun
        return [m["message"] for m in fake_at.messages if "we received" in m["message"]]

    assert wait_for(receipts)
    assert receipts() == [
        f"Mama Mboga Fresh: we received KSh 340.00 by M-Pesa ref {paid.reference} (SIMULATED, "
        f"no real money) for order #{order.number}. Asante!"]
    with app.app_context():
        assert mpesa.query(env, config, payment.provider_reference, None).status == SUCCEEDED


@pytest.mark.parametrize("method, path", [
    ("get", "/simulated/daraja/oauth/v1/generate?grant_type=client_credentials"),
    ("post", "/simulated/daraja/mpesa/stkpush/v1/processrequest"),
    ("post", "/simulated/daraja/mpesa/stkpushquery/v1/query"),
])
def test_the_simulator_is_not_there_unless_the_server_is_a_demo(app, method, path):
    assert app.extensions["duka.payments"].allow_simulated is False
    answer = getattr(app.test_client(), method)(path, json={})
    assert answer.status_code == 404
    assert answer.get_json()["errorCode"] == "404.001.01"


def test_the_demo_uses_the_sandbox_when_given_credentials(app, db, store):
    ctx = app.extensions["duka.payments"]
    line = configure_demo_payments(db, store, ctx, SANDBOX)
    assert line.startswith("M-Pesa: Daraja sandbox, shortcode 174379;")
    assert ctx.allow_simulated is False
    row = db.scalar(select(PaymentGateway))
    assert (row.provider, row.simulated, row.settings) == ("mpesa", False, {"shortcode": "174379"})
    assert "secret" not in row.secrets
    assert ctx.secrets.open(row.secrets) == {"consumer_key": "key", "consumer_secret": "secret",
                                            "passkey": "passkey"}


def test_the_demo_refuses_half_the_credentials(app, db, store):
    with pytest.raises(DemoPaymentsError, match="MPESA_PASSKEY"):
        configure_demo_payments(db, store, app.extensions["duka.payments"],
                                {**SANDBOX, "MPESA_PASSKEY": ""})
    assert db.scalars(select(PaymentGateway)).all() == []


def test_the_demo_needs_an_encryption_key_for_real_credentials(make_app):
    app = make_app(DUKA_ENCRYPTION_KEY="")
    with app.extensions["duka.db"]() as db:
        from commerce.demo import seed_demo_store

        store, _ = seed_demo_store(db)
        with pytest.raises(DemoPaymentsError, match="DUKA_ENCRYPTION_KEY"):
            configure_demo_payments(db, store, app.extensions["duka.payments"], SANDBOX)
        assert db.scalars(select(Payment)).all() == []
        assert db.scalars(select(PaymentGateway)).all() == []
