"""Payments over the merchant API: the list and one payment, cash received on delivery, and
refunds: of a payment, and of an order paid online (through its provider) or in cash.

An in-memory provider ("shoppay", as in tests/payments/test_payment_rules.py) stands in for the
network; its secret key must never appear in any answer. ``place_order`` makes an order of
KSh 340 (KSh 440 with delivery).
"""
from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from commerce import fulfilments
from commerce.models import (
    Order, OrderLine, OrderStatusChange, Payment, PaymentGateway, Refund, RefundLine, Stock,
)
from commerce.money import Money
from payments import gateways, service
from payments.base import SUCCEEDED, Initiated, Outcome, ProviderRefused, RefundOutcome
from payments.registry import PROVIDERS
from tests.admin.conftest import add_staff, bearer, error_of
from tests.helpers import events_named, fresh, on_hand, place_order

V1 = "/api/v1"
SECRET = "sk_live_do_not_show"


def money_rows(db) -> tuple:
    """Every order and money row of every store, to prove a refused request changed none."""
    db.expire_all()
    return tuple(tuple(db.execute(select(model.__table__).order_by(model.__table__.c.id)).all())
                 for model in (Order, OrderLine, OrderStatusChange, Payment, Refund, RefundLine,
                               Stock, PaymentGateway))


def untimed(answer: dict) -> dict:
    for key in ("created_at", "updated_at", "expires_at"):
        if answer.get(key) is not None:
            assert isinstance(answer.pop(key), str)
        else:
            answer.pop(key, None)
    for refund in answer.get("refunds", []):
        assert isinstance(refund.pop("created_at"), str)
    return answer


class ShopPay:
    """A provider that answers from memory."""

    name, label, signed, pending_minutes = "shoppay", "ShopPay", False, 5
    settings_fields, secret_fields = ("till",), ("api_key",)

    def __init__(self):
        self.refunded: list = []
        self.refuse = False
        self._ids = itertools.count(1)

    def initiate(self, env, gateway, charge):
        return Initiated(provider_reference=f"SP{next(self._ids)}")

    def query(self, env, gateway, provider_reference, charge):
        return Outcome(provider_reference, "pending")

    def refund(self, env, gateway, payment, amount, reason):
        if self.refuse:
            raise ProviderRefused("The till has no float for reversals.")
        self.refunded.append((amount, reason))
        return RefundOutcome(SUCCEEDED, provider_reference=f"R{len(self.refunded)}")


@pytest.fixture
def shoppay(app, db, store):
    provider = PROVIDERS["shoppay"] = ShopPay()
    app.extensions["duka.payments"].base_urls["shoppay"] = "http://127.0.0.1:9"
    gateways.do_configure_gateway(db, store, app.extensions["duka.payments"].secrets,
                                  "shoppay", {"till": "5555"}, {"api_key": SECRET})
    yield provider
    del PROVIDERS["shoppay"]


@pytest.fixture
def paid_online(app, db, store, shoppay, run_jobs):
    """An order paid through shoppay: (order, payment)."""

    def pay(how=None, phone="+254712345678"):
        order = place_order(db, store, payment_method="mpesa", how=how, phone=phone)
        with app.app_context():
            payment = service.do_request_payment(db, store, order.id, "shoppay")
        run_jobs()
        db.expire_all()
        payment = db.get(Payment, payment.id)
        service.do_apply_outcome(db, payment.id, Outcome(
            payment.provider_reference, SUCCEEDED, amount=Money(payment.amount, "KES"),
            receipt="RCPT123", dedup_key=f"cb-{payment.id}"))
        db.expire_all()
        return fresh(db, order.id), db.get(Payment, payment.id)

    return pay


def cod_order(db, store, phone="+254712345678"):
    return place_order(db, store, payment_method="cod", how="delivery", phone=phone)


# -- cash on delivery ---------------------------------------------------------------------------
def test_cash_on_delivery_is_marked_received_once(api, db, store, owner):
    order = cod_order(db, store)
    answer = api.post(f"{V1}/payments/cash", headers=owner, json={"order_id": order.id})
    assert answer.status_code == 200
    payment = db.scalar(select(Payment).where(Payment.order_id == order.id))
    assert untimed(answer.get_json()) == {
        "id": payment.id, "order_id": order.id, "order_number": 1001, "method": "cod",
        "amount": 44000, "currency": "KES", "status": "succeeded", "reference": "cash-1001",
        "provider_reference": None, "phone": None, "failure_reason": "",
        "redirect_url": None, "simulated": False, "refunds": []}
    assert (fresh(db, order.id).status, fresh(db, order.id).financial_status) == (
        "paid", "paid")
    again = api.post(f"{V1}/payments/cash", headers=owner, json={"order_id": order.id})
    assert (again.status_code, again.get_json()["id"]) == (200, payment.id)
    assert len(db.scalars(select(Payment)).all()) == 1
    assert len(events_named(db, "order.paid")) == 1
    listed = api.get(f"{V1}/payments", headers=owner).get_json()
    assert [p["id"] for p in listed["items"]] == [payment.id]
    assert "refunds" not in listed["items"][0]


def test_cash_is_only_for_cash_orders_of_this_store(api, db, store, owner, paid_online):
    online = place_order(db, store, payment_method="mpesa", phone="+254722000111")
    before = money_rows(db)
    answer = api.post(f"{V1}/payments/cash", headers=owner, json={"order_id": online.id})
    assert error_of(answer) == (422, "order_not_payable")
    assert answer.get_json()["error"]["message"] == "Order #1001 is paid by mpesa, not cash."
    for body, expected in (({"order_id": 999999}, (404, "not_found")),
                           ({"order_id": "1"}, (422, "invalid_body")),
                           ({"order_id": 0}, (422, "invalid_body")),
                           ({}, (422, "invalid_body")),
                           ({"order_id": online.id, "amount": 100}, (422, "invalid_body"))):
        assert error_of(api.post(f"{V1}/payments/cash", headers=owner, json=body)) == expected
    assert money_rows(db) == before


# -- reading ------------------------------------------------------------------------------------
def test_payments_are_listed_and_filtered(api, db, store, owner, paid_online):
    cash = cod_order(db, store, phone="+254733000222")  # 1001
    api.post(f"{V1}/payments/cash", headers=owner, json={"order_id": cash.id})
    order, online = paid_online(phone="+254722000111")  # 1002
    waiting = place_order(db, store, payment_method="mpesa", phone="+254744000333")  # 1003
    with api.application.app_context():
        open_one = service.do_request_payment(db, store, waiting.id, "shoppay")

    def listed(query: str = "") -> list[int]:
        answer = api.get(f"{V1}/payments?{query}", headers=owner)
        assert answer.status_code == 200, answer.get_json()
        return [p["order_number"] for p in answer.get_json()["items"]]

    assert listed() == [1003, 1002, 1001]
    assert listed("status=succeeded") == [1002, 1001]
    assert listed("method=cod") == [1001]
    assert listed(f"order_id={order.id}") == [1002]
    assert listed("status=failed") == []
    first = api.get(f"{V1}/payments?limit=2", headers=owner).get_json()
    rest = api.get(f"{V1}/payments?limit=2&cursor={first['next_cursor']}", headers=owner)
    assert [p["order_number"] for p in rest.get_json()["items"]] == [1001]

    detail = untimed(api.get(f"{V1}/payments/{online.id}", headers=owner).get_json())
    assert detail == {
        "id": online.id, "order_id": order.id, "order_number": 1002, "method": "shoppay",
        "amount": 34000, "currency": "KES", "status": "succeeded", "reference": "RCPT123",
        "provider_reference": "SP1", "phone": "+254722000111", "failure_reason": "",
        "redirect_url": None, "simulated": False, "refunds": []}
    assert api.get(f"{V1}/payments/{open_one.id}", headers=owner).get_json()["status"] in (
        "created", "pending")
    for query in ("status=paid", "method=bitcoin", "order_id=0", "order_id=abc", "page=2"):
        assert error_of(api.get(f"{V1}/payments?{query}", headers=owner)) == (
            422, "invalid_query")
    assert error_of(api.get(f"{V1}/payments/999999", headers=owner)) == (404, "not_found")


def test_provider_secrets_never_appear(api, db, store, owner, paid_online):
    order, payment = paid_online()
    refund = api.post(f"{V1}/payments/{payment.id}/refunds", headers=owner,
                      json={"amount": 1000})
    for answer in (refund, api.get(f"{V1}/payments", headers=owner),
                   api.get(f"{V1}/payments/{payment.id}", headers=owner),
                   api.get(f"{V1}/orders/{order.id}", headers=owner)):
        assert answer.status_code in (200, 201)
        text = answer.get_data(as_text=True)
        assert SECRET not in text and "api_key" not in text and "5555" not in text


# -- refunds of a payment -----------------------------------------------------------------------
def test_a_payment_is_refunded_through_its_provider_never_beyond_it(api, db, store, owner,
                                                                    paid_online, shoppay):
    order, payment = paid_online()
    answer = api.post(f"{V1}/payments/{payment.id}/refunds", headers=owner,
                      json={"amount": 10000, "reason": "bruised tomatoes"})
    assert answer.status_code == 201
    refund = db.scalar(select(Refund).where(Refund.payment_id == payment.id))
    me = answer.get_json()["actor"]
    assert me.startswith("staff:")
    assert untimed(answer.get_json()) == {
        "id": refund.id, "order_id": order.id, "payment_id": payment.id, "amount": 10000,
        "currency": "KES", "status": "succeeded", "provider_reference": "R1",
        "reason": "bruised tomatoes", "restock": False, "actor": me, "lines": []}
    assert shoppay.refunded == [(Money(10000, "KES"), "bruised tomatoes")]
    assert fresh(db, order.id).financial_status == "partially_refunded"

    before = money_rows(db)
    over = api.post(f"{V1}/payments/{payment.id}/refunds", headers=owner, json={"amount": 24001})
    assert error_of(over) == (409, "refund_exceeds_payment")
    assert over.get_json()["error"]["details"] == {"refundable": 24000}
    assert money_rows(db) == before and len(shoppay.refunded) == 1

    rest = api.post(f"{V1}/payments/{payment.id}/refunds", headers=owner, json={"amount": 24000})
    assert rest.status_code == 201
    assert fresh(db, order.id).financial_status == "refunded"
    shown = api.get(f"{V1}/payments/{payment.id}", headers=owner).get_json()["refunds"]
    assert [(r["amount"], r["status"]) for r in shown] == [(10000, "succeeded"),
                                                            (24000, "succeeded")]


def test_a_refund_the_provider_refuses_is_failed_and_counts_for_nothing(api, db, store, owner,
                                                                        paid_online, shoppay):
    order, payment = paid_online()
    shoppay.refuse = True
    answer = api.post(f"{V1}/payments/{payment.id}/refunds", headers=owner,
                      json={"amount": 5000})
    assert (answer.status_code, answer.get_json()["status"]) == (201, "failed")
    assert fresh(db, order.id).financial_status == "paid"
    assert events_named(db, "order.refunded") == []


def test_a_cash_payment_is_refunded_by_hand(api, db, store, owner):
    order = cod_order(db, store)
    payment = api.post(f"{V1}/payments/cash", headers=owner,
                       json={"order_id": order.id}).get_json()
    answer = api.post(f"{V1}/payments/{payment['id']}/refunds", headers=owner,
                      json={"amount": 44000})
    assert (answer.status_code, answer.get_json()["status"],
            answer.get_json()["payment_id"]) == (201, "succeeded", payment["id"])
    assert fresh(db, order.id).financial_status == "refunded"


@pytest.mark.parametrize("body, expected", [
    ({"amount": "100"}, (422, "invalid_body")),
    ({"amount": -100}, (422, "invalid_body")),
    ({"amount": 1.5}, (422, "invalid_body")),
    ({"amount": 0}, (422, "invalid_amount")),
    ({}, (422, "invalid_body")),
    ({"amount": 100, "restock": True}, (422, "invalid_body")),
    ({"amount": 100, "reason": "x" * 301}, (422, "invalid_body")),
])
def test_a_bad_payment_refund_is_refused_and_changes_nothing(api, db, store, owner,
                                                             paid_online, shoppay, body,
                                                             expected):
    order, payment = paid_online()
    before = money_rows(db)
    assert error_of(api.post(f"{V1}/payments/{payment.id}/refunds", headers=owner,
                             json=body)) == expected
    assert money_rows(db) == before and shoppay.refunded == []


# -- refunds of an order paid online ------------------------------------------------------------
def test_an_order_paid_online_is_refunded_through_its_provider(api, db, store, owner,
                                                               paid_online, shoppay):
    order, payment = paid_online()
    answer = api.post(f"{V1}/orders/{order.id}/refunds", headers=owner,
                      json={"amount": 12000, "reason": "one kilo short"})
    assert answer.status_code == 201
    assert {k: answer.get_json()[k] for k in ("payment_id", "amount", "status", "lines")} == {
        "payment_id": payment.id, "amount": 12000, "status": "succeeded", "lines": []}
    assert shoppay.refunded == [(Money(12000, "KES"), "one kilo short")]
    over = api.post(f"{V1}/orders/{order.id}/refunds", headers=owner, json={"amount": 22001})
    assert error_of(over) == (409, "refund_exceeds_payment")
    assert len(shoppay.refunded) == 1


def test_returned_items_of_an_online_order_need_the_money_back_by_hand(api, db, store, owner,
                                                                       paid_online, shoppay):
    order, payment = paid_online()
    fulfilments.do_fulfil(db, store, order.id)
    tomatoes = order.lines[0]
    lines = [{"line_id": tomatoes.id, "quantity": 1}]
    before = money_rows(db)
    refused = api.post(f"{V1}/orders/{order.id}/refunds", headers=owner,
                       json={"lines": lines, "restock": True})
    assert error_of(refused) == (422, "refund_lines_need_by_hand")
    assert refused.get_json()["error"]["message"] == (
        "Order #1001 was paid by shoppay: a refund through it is of money only. Leave out "
        "lines and restock, or set by_hand.")
    assert money_rows(db) == before and shoppay.refunded == []

    shelf = on_hand(db, "TOMA-1KG")
    by_hand = api.post(f"{V1}/orders/{order.id}/refunds", headers=owner,
                       json={"lines": lines, "restock": True, "by_hand": True})
    assert by_hand.status_code == 201
    assert {k: by_hand.get_json()[k] for k in ("payment_id", "amount", "status", "restock",
                                                "lines")} == {
        "payment_id": None, "amount": 12000, "status": "succeeded", "restock": True,
        "lines": [{"order_line_id": tomatoes.id, "quantity": 1}]}
    assert on_hand(db, "TOMA-1KG") == shelf + 1 and shoppay.refunded == []


# -- who may do what ----------------------------------------------------------------------------
def test_viewers_and_counter_staff_read_payments_but_cannot_move_money(app, api, db, store,
                                                                       paid_online, shoppay):
    order, payment = paid_online()
    cash = cod_order(db, store, phone="+254722000111")
    viewer = bearer(app, add_staff(db, store, "+254711222444", role="viewer"))
    counter = bearer(app, add_staff(db, store, "+254711222555", role="staff"))
    before = money_rows(db)
    for headers in (viewer, counter):
        assert api.get(f"{V1}/payments", headers=headers).status_code == 200
        assert api.get(f"{V1}/payments/{payment.id}", headers=headers).status_code == 200
        for answer in (api.post(f"{V1}/payments/{payment.id}/refunds", headers=headers,
                                json={"amount": 100}),
                       api.post(f"{V1}/payments/cash", headers=headers,
                                json={"order_id": cash.id})):
            assert answer.status_code == 403
            assert answer.get_json()["error"]["message"] == (
                "This needs the payments:write permission.")
    assert money_rows(db) == before and shoppay.refunded == []


def test_another_stores_payments_are_out_of_reach(api, db, store, owner, other_owner,
                                                  paid_online, shoppay):
    """Store B's owner on the demo store's payments: 404, as if missing; nothing listed."""
    order, payment = paid_online()
    cash = cod_order(db, store, phone="+254722000111")
    before = money_rows(db)
    for answer in (api.get(f"{V1}/payments/{payment.id}", headers=other_owner),
                   api.post(f"{V1}/payments/{payment.id}/refunds", headers=other_owner,
                            json={"amount": 100}),
                   api.post(f"{V1}/payments/cash", headers=other_owner,
                            json={"order_id": cash.id}),
                   api.post(f"{V1}/orders/{order.id}/refunds", headers=other_owner,
                            json={"amount": 100}),
                   api.post(f"{V1}/orders/{order.id}/refunds", headers=other_owner,
                            json={"amount": 100, "by_hand": True})):
        assert error_of(answer) == (404, "not_found")
    for query in ("", f"?order_id={order.id}", "?method=cod", "?status=succeeded"):
        assert api.get(f"{V1}/payments{query}", headers=other_owner).get_json() == {
            "items": [], "next_cursor": None}
    assert money_rows(db) == before and shoppay.refunded == []


# -- the document -------------------------------------------------------------------------------
def test_answers_with_real_orders_drafts_and_payments_match_the_openapi_document(
        api, db, store, owner, paid_online, shoppay):
    """The fuzzer meets an empty store; here every kind of row is in the answers."""
    import schemathesis

    from admin.api.openapi import document

    schema = schemathesis.openapi.from_dict(document())
    order, payment = paid_online()
    cash = cod_order(db, store, phone="+254722000111")
    tomatoes = cash.lines[0]
    draft = api.post(f"{V1}/draft-orders", headers=owner, json={
        "phone": "0733000222", "lines": [{"variant_id": tomatoes.variant_id, "quantity": 1}]})
    answers = [
        ("/payments/cash", "POST", api.post(f"{V1}/payments/cash", headers=owner,
                                            json={"order_id": cash.id})),
        ("/orders/{order_id}/fulfilments", "POST", api.post(
            f"{V1}/orders/{cash.id}/fulfilments", headers=owner,
            json={"lines": [{"line_id": tomatoes.id, "quantity": 2}], "carrier": "G4S",
                  "tracking_number": "G4S-1"})),
        ("/orders/{order_id}/deliver", "POST", api.post(f"{V1}/orders/{cash.id}/deliver",
                                                        headers=owner, json={})),
        ("/orders/{order_id}/refunds", "POST", api.post(
            f"{V1}/orders/{cash.id}/refunds", headers=owner,
            json={"lines": [{"line_id": tomatoes.id, "quantity": 1}], "restock": True})),
        ("/payments/{payment_id}/refunds", "POST", api.post(
            f"{V1}/payments/{payment.id}/refunds", headers=owner, json={"amount": 500})),
        ("/orders/{order_id}/cancel", "POST", api.post(f"{V1}/orders/{order.id}/cancel",
                                                       headers=owner, json={})),
        ("/draft-orders", "POST", draft),
        ("/draft-orders/{draft_id}/send", "POST", api.post(
            f"{V1}/draft-orders/{draft.get_json()['id']}/send", headers=owner)),
        ("/draft-orders/{draft_id}/lines", "PUT", api.put(
            f"{V1}/draft-orders/{draft.get_json()['id']}/lines", headers=owner,
            json={"lines": [{"variant_id": tomatoes.variant_id, "quantity": 2}]})),
    ]
    for path, url in (("/orders", "/orders"), ("/orders/{order_id}", f"/orders/{cash.id}"),
                      ("/orders/{order_id}", f"/orders/{order.id}"),
                      ("/orders/{order_id}/history", f"/orders/{cash.id}/history"),
                      ("/draft-orders", "/draft-orders"),
                      ("/draft-orders/{draft_id}", f"/draft-orders/{draft.get_json()['id']}"),
                      ("/payments", "/payments"),
                      ("/payments/{payment_id}", f"/payments/{payment.id}")):
        answers.append((path, "GET", api.get(f"{V1}{url}", headers=owner)))
    for path, method, answer in answers:
        assert answer.status_code in (200, 201, 202), (path, answer.get_json())
        schema[f"{V1}{path}"][method].validate_response(answer)
    detail = api.get(f"{V1}/orders/{cash.id}", headers=owner).get_json()
    assert (len(detail["payments"]["items"]), len(detail["fulfilments"]),
            len(detail["refunds"])) == (1, 1, 1)
