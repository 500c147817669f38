"""Shared by the payment tests: the app reachable over HTTP (providers call it back), a store
gateway, and a way to ask for a payment and let the jobs run as a worker would."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from commerce.models import Payment, PaymentCallback
from payments import gateways, service
from tests.fakes.flutterwave import FakeFlutterwave


@pytest.fixture
def public_url(app, live_server):
    """Providers call back here: the app's ``PUBLIC_BASE_URL`` is its live test server."""
    app.extensions["duka.payments"].public_url = live_server
    return live_server


@pytest.fixture
def configure(app, db, store):
    """``configure("mpesa", settings={...}, secrets={...})``: give the store a gateway."""

    def configure(provider, settings=None, secrets=None, store_=None, **flags):
        box = app.extensions["duka.payments"].secrets
        return gateways.do_configure_gateway(db, store_ or store, box, provider, settings,
                                             secrets, **flags)

    return configure


@pytest.fixture
def request_payment(app, db, store, run_jobs):
    """Ask for a payment of ``order`` the way checkout does, then run the queued jobs
    (initiate at the provider); returns the payment as the database has it afterwards."""

    def request(order, method, phone=None, store_=None):
        with app.app_context():
            payment = service.do_request_payment(db, store_ or store, order.id, method, phone)
        run_jobs()
        db.expire_all()
        return db.get(Payment, payment.id)

    return request


@pytest.fixture
def payment_now(db):
    def read(payment_id):
        db.expire_all()
        return db.get(Payment, payment_id)

    return read


@pytest.fixture
def callbacks(db):
    """The callbacks kept, oldest first: (dedup_key, outcome)."""

    def read():
        db.expire_all()
        return [(c.dedup_key, c.outcome) for c in
                db.scalars(select(PaymentCallback).order_by(PaymentCallback.id))]

    return read


@pytest.fixture
def flw():
    """Flutterwave's API, on a local port."""
    fake = FakeFlutterwave().start()
    yield fake
    fake.stop()
