"""M-Pesa C2B: a shopper pays the shop's paybill with the order number as the account; Daraja
asks us to validate, then confirms. Driven over real HTTP with Daraja's documented payload."""
from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from commerce.models import Payment, Store
from payments import mpesa_c2b
from tests.fakes.daraja import FakeDaraja
from tests.helpers import fresh, place_order


@pytest.fixture
def app(make_app):
    app = make_app()
    if "mpesa_c2b" not in app.blueprints:  # until wsgi.py registers it
        app.register_blueprint(mpesa_c2b.bp)
    return app


@pytest.fixture
def mpesa(configure, public_url):
    fake = FakeDaraja()  # for its credentials only: C2B needs no call to Daraja
    return configure("mpesa", fake.settings, fake.secrets)


@pytest.fixture
def c2b(public_url, mpesa):
    def post(kind, body, token=None):
        url = f"{public_url}/payments/mpesa/c2b/{token or mpesa.callback_token}/{kind}"
        if isinstance(body, bytes):
            return httpx.post(url, content=body, headers={"Content-Type": "application/json"})
        return httpx.post(url, json=body)
    return post


def paybill(account, amount="340", trans_id="RKTQDM7W6S", shortcode="174379") -> dict:
    """What Daraja POSTs to the validation and confirmation URLs, as documented."""
    return {"TransactionType": "Pay Bill", "TransID": trans_id, "TransTime": "20191122063845",
            "TransAmount": amount, "BusinessShortCode": shortcode, "BillRefNumber": account,
            "InvoiceNumber": "", "OrgAccountBalance": "", "ThirdPartyTransID": "",
            "MSISDN": "25470****149", "FirstName": "John", "MiddleName": "", "LastName": "Doe"}


@pytest.fixture
def order(db, store):
    return place_order(db, store)


def receipts(fake_at, run_jobs):
    run_jobs()
    return [m["message"] for m in fake_at.messages if "we received" in m["message"]]


@pytest.mark.parametrize("account", ["{n}", "#{n}", " order {n} ", "Order{n}"])
def test_validation_accepts_the_amount_owed_on_an_unpaid_order(c2b, order, account):
    answer = c2b("validation", paybill(account.format(n=order.number), amount="340.00"))
    assert (answer.status_code, answer.json()) == (200, {"ResultCode": "0",
                                                         "ResultDesc": "Accepted"})


@pytest.mark.parametrize("account, amount, code", [
    ("{n}", "300", "C2B00013"),  # too little
    ("{n}", "400", "C2B00013"),  # too much
    ("{n}", "340.50", "C2B00013"),
    ("9999", "340", "C2B00012"),  # no such order
    ("invoice008", "340", "C2B00012"),
    ("", "340", "C2B00012"),
])
def test_validation_rejects_a_wrong_account_or_amount(c2b, order, account, amount, code, db):
    answer = c2b("validation", paybill(account.format(n=order.number), amount=amount))
    assert (answer.status_code, answer.json()) == (200, {"ResultCode": code,
                                                         "ResultDesc": "Rejected"})
    assert db.scalars(select(Payment)).all() == []


def test_validation_rejects_another_shortcode(c2b, order):
    answer = c2b("validation", paybill(str(order.number), shortcode="600638"))
    assert answer.json() == {"ResultCode": "C2B00015", "ResultDesc": "Rejected"}


def test_a_paid_order_takes_no_more_money(c2b, order, fake_at, run_jobs):
    c2b("confirmation", paybill(str(order.number)))
    answer = c2b("validation", paybill(str(order.number), trans_id="RKTQDM7W6T"))
    assert answer.json() == {"ResultCode": "C2B00012", "ResultDesc": "Rejected"}


def test_another_stores_order_number_is_not_this_stores(c2b, configure, order, db):
    other = Store(slug="other", name="Other shop", currency="KES", country="KE")
    db.add(other)
    db.commit()
    theirs = configure("mpesa", {"shortcode": "174379"}, FakeDaraja().secrets, store_=other)
    answer = c2b("validation", paybill(str(order.number)), token=theirs.callback_token)
    assert answer.json() == {"ResultCode": "C2B00012", "ResultDesc": "Rejected"}


def test_a_confirmation_pays_the_order_once(c2b, order, db, fake_at, run_jobs, callbacks):
    first = c2b("confirmation", paybill(str(order.number)))
    second = c2b("confirmation", paybill(str(order.number)))
    assert first.json() == second.json() == {"ResultCode": 0, "ResultDesc": "Success"}
    [payment] = db.scalars(select(Payment)).all()
    assert (payment.method, payment.amount, payment.status, payment.reference) == (
        "mpesa", 34000, "succeeded", "RKTQDM7W6S")
    now = fresh(db, order.id)
    assert (now.status, now.financial_status) == ("paid", "paid")
    assert receipts(fake_at, run_jobs) == [
        f"Mama Mboga Fresh: we received KSh 340.00 by M-Pesa ref RKTQDM7W6S for order "
        f"#{order.number}. Asante!"]
    assert callbacks() == [("c2b:RKTQDM7W6S", "applied")]


def test_a_confirmation_naming_no_order_is_kept_for_a_person(c2b, order, db, callbacks):
    answer = c2b("confirmation", paybill("invoice008"))
    assert answer.json() == {"ResultCode": 0, "ResultDesc": "Success"}  # the money moved
    assert db.scalars(select(Payment)).all() == []
    assert fresh(db, order.id).financial_status == "pending"
    assert callbacks() == [("c2b:RKTQDM7W6S", "ignored")]


@pytest.mark.parametrize("kind", ["validation", "confirmation"])
def test_an_unknown_token_is_refused(c2b, order, db, kind):
    answer = c2b(kind, paybill(str(order.number)), token="not-the-token")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"
    assert db.scalars(select(Payment)).all() == []


@pytest.mark.parametrize("kind, body", [
    ("validation", b"not json"), ("confirmation", b"not json"), ("confirmation", b"[]"),
    ("confirmation", {"BillRefNumber": "1001", "TransAmount": "340"}),  # no TransID
    ("confirmation", {"BillRefNumber": "1001", "TransID": "X1", "TransAmount": "lots"}),
])
def test_a_body_we_cannot_read_is_refused(c2b, order, db, kind, body):
    answer = c2b(kind, body)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "bad_callback"
    assert db.scalars(select(Payment)).all() == []
