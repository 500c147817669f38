"""Orders over the merchant API: the list and its filters, one order in full, its history, and
fulfilling, delivering, preparing, completing, cancelling and refunding it (cash; refunds
through a provider are in test_api_payments).

``place_order`` buys tomatoes 1kg x2 (KSh 120 each) and onions 1kg x1 (KSh 100) in the demo
store (KES, 16 % VAT included); delivery to Nairobi West adds KSh 100.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select, update

from commerce import fulfilments, order_flow, order_payments
from commerce.models import (
    Fulfilment, FulfilmentLine, Order, OrderLine, OrderStatusChange, Payment, Refund, RefundLine,
    Stock, StockMovement,
)
from tests.admin.conftest import add_staff, bearer, error_of
from tests.helpers import events_named, fresh, on_hand, place_order

V1 = "/api/v1"


def order_rows(db) -> tuple:
    """Every order-side row of every store, to prove a refused request changed none."""
    db.expire_all()
    return tuple(tuple(db.execute(select(model.__table__).order_by(model.__table__.c.id)).all())
                 for model in (Order, OrderLine, OrderStatusChange, Fulfilment, FulfilmentLine,
                               Refund, RefundLine, Payment, Stock, StockMovement))


def untimed(answer: dict) -> dict:
    """The answer without its timestamps (checked to be there), for exact comparison."""
    for key in ("created_at", "updated_at"):
        if key in answer:
            assert isinstance(answer.pop(key), str)
    return answer


def numbers(page: dict) -> list[int]:
    return [item["number"] for item in page["items"]]


def cash_paid(db, store, order):
    order_payments.do_record_payment(db, store, order.id, "cod", order.total,
                                     f"cash-{order.number}")
    return fresh(db, order.id)


# -- reading ------------------------------------------------------------------------------------
def test_an_order_is_shown_in_full(api, db, store, owner):
    order = place_order(db, store, payment_method="cod", how="delivery")
    tomatoes, onions = order.lines
    answer = api.get(f"{V1}/orders/{order.id}", headers=owner)
    assert answer.status_code == 200
    assert untimed(answer.get_json()) == {
        "id": order.id, "number": 1001, "status": "pending_payment",
        "financial_status": "pending", "fulfilment_status": "unfulfilled",
        "payment_method": "cod", "currency": "KES",
        "totals": {"subtotal": 34000, "discount": 0, "shipping": 10000, "tax": 6069,
                   "total": 44000},
        "discount_code": None, "note": "",
        "customer": {"id": order.customer_id, "phone": "+254712345678", "name": ""},
        "delivery": {"method": "delivery", "zone_id": order.shipping_zone_id,
                     "zone_name": "Nairobi West", "address": "Kawangware stage 56",
                     "landmark": "", "pickup_point": None},
        "lines": [
            {"id": tomatoes.id, "variant_id": tomatoes.variant_id, "title": "Tomatoes 1kg",
             "sku": "TOMA-1KG", "unit_price": 12000, "quantity": 2, "quantity_fulfilled": 0,
             "quantity_returned": 0, "total": 24000},
            {"id": onions.id, "variant_id": onions.variant_id, "title": "Onions 1kg",
             "sku": "ONIO-1KG", "unit_price": 10000, "quantity": 1, "quantity_fulfilled": 0,
             "quantity_returned": 0, "total": 10000}],
        "payments": {"paid": 0, "refunded": 0, "items": []},
        "fulfilments": [], "refunds": []}


def test_a_pickup_order_names_its_pickup_point(api, db, store, owner):
    order = place_order(db, store, how="pickup")
    delivery = api.get(f"{V1}/orders/{order.id}", headers=owner).get_json()["delivery"]
    assert delivery == {"method": "pickup", "zone_id": None, "zone_name": None, "address": "",
                        "landmark": "", "pickup_point": {
                            "id": order.pickup_point_id, "name": "Kawangware shop",
                            "address": "Kawangware stage 56, next to the chemist"}}


def test_orders_are_listed_newest_first_page_by_page(api, db, store, owner):
    first = place_order(db, store, payment_method="cod", how="delivery")
    for phone in ("+254722000111", "+254733000222"):
        place_order(db, store, phone=phone)
    page = api.get(f"{V1}/orders?limit=2", headers=owner).get_json()
    assert numbers(page) == [1003, 1002]
    rest = api.get(f"{V1}/orders?limit=2&cursor={page['next_cursor']}", headers=owner)
    assert rest.status_code == 200
    assert [untimed(item) for item in rest.get_json()["items"]] == [{
        "id": first.id, "number": 1001, "status": "pending_payment",
        "financial_status": "pending", "fulfilment_status": "unfulfilled",
        "payment_method": "cod", "currency": "KES", "total": 44000, "item_count": 3,
        "customer": {"id": first.customer_id, "phone": "+254712345678", "name": ""},
        "delivery_method": "delivery"}]
    assert rest.get_json()["next_cursor"] is None


def test_orders_are_filtered_by_status_customer_date_and_search(api, db, store, owner):
    cash = place_order(db, store, payment_method="cod", how="delivery")  # 1001
    paid = place_order(db, store, phone="+254722000111", how="pickup")  # 1002
    order_payments.do_record_payment(db, store, paid.id, "mpesa", paid.total, "QK1002")
    fulfilments.do_fulfil(db, store, paid.id)  # ready for pickup
    cancelled = place_order(db, store, phone="+254733000222")  # 1003
    order_flow.do_transition_order(db, store, cancelled.id, "cancel", "staff:1")
    # Placed late on 1 March in Nairobi (UTC+3): 2 March there, still 1 March in UTC.
    db.execute(update(Order).where(Order.id == cash.id).values(
        created_at=datetime(2026, 3, 1, 22, 30, tzinfo=timezone.utc)))
    db.execute(update(Order).where(Order.id == paid.id).values(
        created_at=datetime(2026, 3, 3, 20, 59, tzinfo=timezone.utc)))  # 23:59 on 3 March
    db.commit()

    def listed(query: str) -> list[int]:
        answer = api.get(f"{V1}/orders?{query}", headers=owner)
        assert answer.status_code == 200, answer.get_json()
        return numbers(answer.get_json())

    assert listed("status=ready_for_pickup") == [1002]
    assert listed("status=cancelled") == [1003]
    assert listed("financial_status=paid") == [1002]
    assert listed("financial_status=pending") == [1003, 1001]
    assert listed("fulfilment_status=fulfilled") == [1002]
    assert listed("fulfilment_status=unfulfilled&status=pending_payment") == [1001]
    assert listed("phone=0722000111") == [1002]
    assert listed("phone=%2B254712345678") == [1001]
    assert listed("phone=0799999999") == []
    assert listed("created_from=2026-03-02&created_to=2026-03-03") == [1002, 1001]
    assert listed("created_from=2026-03-03") == [1003, 1002]
    assert listed("created_to=2026-03-01") == []
    assert listed("created_from=2026-03-02&created_to=2026-03-02") == [1001]
    assert listed("q=1002") == [1002]
    assert listed("q=%231003") == [1003]
    assert listed("q=0733000222") == [1003]
    assert listed("q=712345678") == [1001]
    assert listed("q=345678") == [1001]  # the last digits of a phone
    assert listed("q=9999") == []
    assert listed("q=tomatoes") == []


@pytest.mark.parametrize("query, expected", [
    ("phone=not-a-phone", (422, "invalid_phone_number")),
    ("status=lost", (422, "invalid_query")),
    ("status=draft", (422, "invalid_query")),  # drafts are at /draft-orders
    ("created_from=yesterday", (422, "invalid_query")),
    ("created_from=1999-12-31", (422, "invalid_query")),
    ("limit=0", (422, "invalid_query")),
    ("limit=101", (422, "invalid_query")),
    ("cursor=nonsense", (400, "bad_cursor")),
    ("colour=red", (422, "invalid_query")),
    ("q=" + "1" * 31, (422, "invalid_query")),
    ("q=10%0001", (422, "invalid_query")),
])
def test_bad_list_queries_are_refused(api, db, store, owner, query, expected):
    assert error_of(api.get(f"{V1}/orders?{query}", headers=owner)) == expected


def test_the_history_lists_every_status_with_who_and_why(api, db, store, owner):
    order = place_order(db, store, payment_method="cod", how="delivery")
    api.post(f"{V1}/orders/{order.id}/process", headers=owner, json={})
    api.post(f"{V1}/orders/{order.id}/cancel", headers=owner,
             json={"reason": "customer changed their mind"})
    answer = api.get(f"{V1}/orders/{order.id}/history", headers=owner)
    assert answer.status_code == 200
    me = f"staff:{order_owner_id(db, store)}"
    assert [(c["from_status"], c["to_status"], c["actor"], c["reason"])
            for c in answer.get_json()["items"]] == [
        (None, "pending_payment", "customer", "placed at checkout"),
        ("pending_payment", "processing", me, ""),
        ("processing", "cancelled", me, "customer changed their mind")]


def order_owner_id(db, store) -> int:
    from admin.models import Staff

    return db.scalar(select(Staff.id).where(Staff.store_id == store.id, Staff.role == "owner"))


# -- fulfilling and delivering ------------------------------------------------------------------
def test_a_cash_order_is_sent_in_two_shipments_tracked_and_delivered(api, db, store, owner):
    order = place_order(db, store, payment_method="cod", how="delivery")
    tomatoes, onions = order.lines
    prepared = api.post(f"{V1}/orders/{order.id}/process", headers=owner, json={})
    assert (prepared.status_code, prepared.get_json()["status"]) == (200, "processing")

    first = api.post(f"{V1}/orders/{order.id}/fulfilments", headers=owner, json={
        "lines": [{"line_id": tomatoes.id, "quantity": 1}], "carrier": "Own rider",
        "tracking_number": "RIDER-7"})
    assert first.status_code == 201
    shipment = db.scalar(select(Fulfilment).where(Fulfilment.order_id == order.id))
    assert untimed(first.get_json()) == {
        "id": shipment.id, "order_id": order.id, "status": "shipped", "carrier": "Own rider",
        "tracking_number": "RIDER-7",
        "lines": [{"order_line_id": tomatoes.id, "quantity": 1}]}
    assert (fresh(db, order.id).status, fresh(db, order.id).fulfilment_status) == (
        "processing", "partially_fulfilled")

    reused = api.post(f"{V1}/orders/{order.id}/fulfilments", headers=owner,
                      json={"tracking_number": "RIDER-7"})
    assert error_of(reused) == (409, "tracking_number_in_use")
    too_many = api.post(f"{V1}/orders/{order.id}/fulfilments", headers=owner,
                        json={"lines": [{"line_id": tomatoes.id, "quantity": 2}]})
    assert error_of(too_many) == (422, "fulfil_exceeds_remaining")
    assert too_many.get_json()["error"]["message"] == (
        "Only 1 Tomatoes 1kg left to send on order #1001.")

    rest = api.post(f"{V1}/orders/{order.id}/fulfilments", headers=owner,
                    json={"carrier": "G4S", "tracking_number": "G4S-778"})
    assert rest.status_code == 201
    assert sorted((ln["order_line_id"], ln["quantity"]) for ln in rest.get_json()["lines"]) == [
        (tomatoes.id, 1), (onions.id, 1)]
    detail = api.get(f"{V1}/orders/{order.id}", headers=owner).get_json()
    assert (detail["status"], detail["fulfilment_status"]) == ("shipped", "fulfilled")
    assert [(f["carrier"], f["tracking_number"], f["status"]) for f in detail["fulfilments"]] \
        == [("Own rider", "RIDER-7", "shipped"), ("G4S", "G4S-778", "shipped")]
    assert [(ln["quantity_fulfilled"]) for ln in detail["lines"]] == [2, 1]

    one = api.post(f"{V1}/orders/{order.id}/deliver", headers=owner,
                   json={"fulfilment_id": shipment.id}).get_json()
    assert one["status"] == "shipped"  # the other shipment is still on its way
    done = api.post(f"{V1}/orders/{order.id}/deliver", headers=owner, json={})
    assert done.status_code == 200
    assert (done.get_json()["status"], [f["status"] for f in done.get_json()["fulfilments"]]) \
        == ("delivered", ["delivered", "delivered"])
    assert events_named(db, "order.delivered") == [{"order_id": order.id, "number": 1001}]
    # Completing needs the money: cash on delivery not yet recorded.
    assert error_of(api.post(f"{V1}/orders/{order.id}/complete", headers=owner,
                             json={})) == (409, "invalid_transition")
    cash_paid(db, store, order)
    completed = api.post(f"{V1}/orders/{order.id}/complete", headers=owner, json={})
    assert completed.get_json()["status"] == "completed"


def test_a_paid_pickup_order_is_made_ready_then_collected(api, db, store, owner):
    order = place_order(db, store, how="pickup")
    order_payments.do_record_payment(db, store, order.id, "mpesa", order.total, "QK7")
    ready = api.post(f"{V1}/orders/{order.id}/fulfilments", headers=owner, json={})
    assert ready.status_code == 201
    assert fresh(db, order.id).status == "ready_for_pickup"
    assert events_named(db, "order.ready_for_pickup") == [{"order_id": order.id,
                                                           "number": order.number}]
    collected = api.post(f"{V1}/orders/{order.id}/deliver", headers=owner, json={}).get_json()
    assert collected["status"] == "delivered"
    history = api.get(f"{V1}/orders/{order.id}/history", headers=owner).get_json()["items"]
    assert history[-1]["reason"] == "collected"


def test_an_unpaid_online_order_cannot_be_sent_out(api, db, store, owner):
    order = place_order(db, store, payment_method="mpesa", how="delivery")
    before = order_rows(db)
    answer = api.post(f"{V1}/orders/{order.id}/fulfilments", headers=owner, json={})
    assert error_of(answer) == (422, "cannot_fulfil")
    assert answer.get_json()["error"]["message"] == (
        "Order #1001 is awaiting payment; it cannot be sent out now.")
    assert error_of(api.post(f"{V1}/orders/{order.id}/deliver", headers=owner,
                             json={})) == (422, "nothing_to_deliver")
    assert error_of(api.post(f"{V1}/orders/{order.id}/process", headers=owner,
                             json={})) == (409, "invalid_transition")
    assert order_rows(db) == before


# -- cancelling ---------------------------------------------------------------------------------
def test_cancelling_puts_unsent_stock_back_and_records_why(api, db, store, owner):
    before = on_hand(db, "TOMA-1KG")
    order = place_order(db, store, payment_method="cod", how="delivery")
    assert on_hand(db, "TOMA-1KG") == before - 2
    answer = api.post(f"{V1}/orders/{order.id}/cancel", headers=owner,
                      json={"reason": "  no rider today "})
    assert answer.status_code == 200
    assert (answer.get_json()["status"], answer.get_json()["fulfilment_status"]) == (
        "cancelled", "unfulfilled")
    assert on_hand(db, "TOMA-1KG") == before
    assert events_named(db, "order.cancelled") == [{"order_id": order.id, "number": 1001}]
    history = api.get(f"{V1}/orders/{order.id}/history", headers=owner).get_json()["items"]
    assert (history[-1]["to_status"], history[-1]["reason"]) == ("cancelled", "no rider today")

    rows = order_rows(db)
    again = api.post(f"{V1}/orders/{order.id}/cancel", headers=owner, json={})
    assert error_of(again) == (409, "invalid_transition")
    assert again.get_json()["error"]["message"] == (
        "Order #1001 is cancelled; it cannot be cancelled.")
    assert order_rows(db) == rows


# -- refunds of a cash order --------------------------------------------------------------------
def test_returned_items_are_refunded_in_cash_and_restocked(api, db, store, owner):
    order = cash_paid(db, store, place_order(db, store, payment_method="cod", how="delivery"))
    tomatoes, onions = order.lines
    fulfilments.do_fulfil(db, store, order.id)
    fulfilments.do_mark_delivered(db, store, order.id)
    shelf = on_hand(db, "TOMA-1KG")

    answer = api.post(f"{V1}/orders/{order.id}/refunds", headers=owner, json={
        "lines": [{"line_id": tomatoes.id, "quantity": 1}], "restock": True,
        "reason": "bruised"})
    assert answer.status_code == 201
    refund = db.scalar(select(Refund).where(Refund.order_id == order.id))
    me = f"staff:{order_owner_id(db, store)}"
    assert untimed(answer.get_json()) == {
        "id": refund.id, "order_id": order.id, "payment_id": None, "amount": 12000,
        "currency": "KES", "status": "succeeded", "provider_reference": None,
        "reason": "bruised", "restock": True, "actor": me,
        "lines": [{"order_line_id": tomatoes.id, "quantity": 1}]}
    assert on_hand(db, "TOMA-1KG") == shelf + 1
    detail = api.get(f"{V1}/orders/{order.id}", headers=owner).get_json()
    assert (detail["financial_status"], detail["payments"]["paid"],
            detail["payments"]["refunded"]) == ("partially_refunded", 44000, 12000)
    assert [ln["quantity_returned"] for ln in detail["lines"]] == [1, 0]

    # The delivery fee too, as money alone.
    fee = api.post(f"{V1}/orders/{order.id}/refunds", headers=owner, json={"amount": 10000})
    assert (fee.status_code, fee.get_json()["amount"], fee.get_json()["lines"]) == (
        201, 10000, [])
    assert events_named(db, "order.refunded")[-1]["amount"] == 10000


def test_a_refund_never_exceeds_what_was_paid(api, db, store, owner):
    unpaid = place_order(db, store, payment_method="cod", how="delivery")
    before = order_rows(db)
    nothing = api.post(f"{V1}/orders/{unpaid.id}/refunds", headers=owner, json={"amount": 100})
    assert error_of(nothing) == (409, "refund_exceeds_payment")
    assert nothing.get_json()["error"] == {
        "code": "refund_exceeds_payment", "details": {"refundable": 0},
        "message": "Only KSh 0.00 of order #1001 can still be refunded."}
    assert order_rows(db) == before

    order = cash_paid(db, store, unpaid)
    api.post(f"{V1}/orders/{order.id}/refunds", headers=owner, json={"amount": 40000})
    before = order_rows(db)
    over = api.post(f"{V1}/orders/{order.id}/refunds", headers=owner, json={"amount": 4001})
    assert error_of(over) == (409, "refund_exceeds_payment")
    assert over.get_json()["error"]["details"] == {"refundable": 4000}
    assert order_rows(db) == before
    rest = api.post(f"{V1}/orders/{order.id}/refunds", headers=owner, json={"amount": 4000})
    assert rest.status_code == 201
    assert fresh(db, order.id).financial_status == "refunded"


@pytest.mark.parametrize("body, expected", [
    ({}, (422, "invalid_body")),  # neither an amount nor lines
    ({"amount": -100}, (422, "invalid_body")),
    ({"amount": "100"}, (422, "invalid_body")),
    ({"amount": 10.5}, (422, "invalid_body")),
    ({"amount": 2_147_483_648}, (422, "invalid_body")),
    ({"amount": 0}, (422, "invalid_amount")),
    ({"amount": 100, "currency": "USD"}, (422, "invalid_body")),
    ({"amount": 100, "reason": "x" * 301}, (422, "invalid_body")),
    ({"amount": 100, "reason": "bad\x00"}, (422, "invalid_body")),
    ({"lines": []}, (422, "invalid_body")),
    ({"lines": [{"line_id": "LINE", "quantity": 1}]}, (422, "invalid_body")),
    ({"lines": [{"line_id": "TOMATOES", "quantity": 0}]}, (422, "invalid_body")),
    ({"lines": [{"line_id": "TOMATOES"}]}, (422, "invalid_body")),
    ({"lines": [{"line_id": "TOMATOES", "quantity": 1}] * 2}, (422, "invalid_body")),
    ({"lines": [{"line_id": "TOMATOES", "quantity": 3}]}, (422, "return_exceeds_sent")),
    ({"lines": [{"line_id": 999999, "quantity": 1}]}, (404, "not_found")),
    ({"amount": 100, "restock": True}, (422, "invalid_quantity")),  # restock what?
])
def test_a_bad_refund_is_refused_and_changes_nothing(api, db, store, owner, body, expected):
    order = cash_paid(db, store, place_order(db, store, payment_method="cod", how="delivery"))
    fulfilments.do_fulfil(db, store, order.id)
    tomatoes = order.lines[0]
    for line in body.get("lines", []):
        if line.get("line_id") == "TOMATOES":
            line["line_id"] = tomatoes.id
    before = order_rows(db)
    assert error_of(api.post(f"{V1}/orders/{order.id}/refunds", headers=owner,
                             json=body)) == expected
    assert order_rows(db) == before


@pytest.mark.parametrize("path, body, expected", [
    ("fulfilments", {"lines": [{"line_id": 1, "quantity": "2"}]}, (422, "invalid_body")),
    ("fulfilments", {"lines": [{"line_id": 1, "quantity": -1}]}, (422, "invalid_body")),
    ("fulfilments", {"lines": None, "courier": "G4S"}, (422, "invalid_body")),
    ("fulfilments", {"tracking_number": "x" * 81}, (422, "invalid_body")),
    ("fulfilments", {"lines": [{"line_id": 999999, "quantity": 1}]}, (404, "not_found")),
    ("deliver", {"fulfilment_id": 999999}, (404, "not_found")),
    ("deliver", {"fulfilment_id": "1"}, (422, "invalid_body")),
    ("cancel", {"reason": 5}, (422, "invalid_body")),
    ("cancel", {"reason": "x" * 301}, (422, "invalid_body")),
    ("cancel", {"reason": "no\x00stock"}, (422, "invalid_body")),  # PostgreSQL text: no NUL
    ("fulfilments", {"carrier": "G4S\x00"}, (422, "invalid_body")),
    ("cancel", {"why": "no stock"}, (422, "invalid_body")),
    ("cancel", None, (415, "unsupported_media_type")),
])
def test_bad_order_actions_are_refused_and_change_nothing(api, db, store, owner, path, body,
                                                          expected):
    order = cash_paid(db, store, place_order(db, store, payment_method="cod", how="delivery"))
    before = order_rows(db)
    answer = api.post(f"{V1}/orders/{order.id}/{path}", headers=owner,
                      **({"json": body} if body is not None else {}))
    assert error_of(answer) == expected
    assert order_rows(db) == before


# -- who may do what ----------------------------------------------------------------------------
def test_a_viewer_reads_orders_but_cannot_change_them(app, api, db, store):
    order = cash_paid(db, store, place_order(db, store, payment_method="cod", how="delivery"))
    viewer = bearer(app, add_staff(db, store, "+254711222444", role="viewer"))
    assert api.get(f"{V1}/orders", headers=viewer).status_code == 200
    assert api.get(f"{V1}/orders/{order.id}", headers=viewer).status_code == 200
    assert api.get(f"{V1}/orders/{order.id}/history", headers=viewer).status_code == 200
    before = order_rows(db)
    for path, body in (("fulfilments", {}), ("deliver", {}), ("cancel", {}), ("process", {}),
                       ("complete", {}), ("refunds", {"amount": 100})):
        answer = api.post(f"{V1}/orders/{order.id}/{path}", headers=viewer, json=body)
        assert answer.get_json()["error"] == {
            "code": "forbidden", "message": "This needs the orders:write permission.",
            "details": {}}
        assert answer.status_code == 403
    assert order_rows(db) == before
    counter = bearer(app, add_staff(db, store, "+254711222555", role="staff"))
    assert api.post(f"{V1}/orders/{order.id}/fulfilments", headers=counter,
                    json={}).status_code == 201


def test_another_stores_orders_are_out_of_reach(api, db, store, owner, other_owner):
    """Store B's owner (``other_owner``) on the demo store's orders: 404, as if missing."""
    order = cash_paid(db, store, place_order(db, store, payment_method="cod", how="delivery"))
    fulfilments.do_fulfil(db, store, order.id)
    before = order_rows(db)
    path = f"{V1}/orders/{order.id}"
    for answer in (api.get(path, headers=other_owner),
                   api.get(f"{path}/history", headers=other_owner),
                   api.post(f"{path}/fulfilments", headers=other_owner, json={}),
                   api.post(f"{path}/deliver", headers=other_owner, json={}),
                   api.post(f"{path}/cancel", headers=other_owner, json={"reason": "mine"}),
                   api.post(f"{path}/process", headers=other_owner, json={}),
                   api.post(f"{path}/complete", headers=other_owner, json={}),
                   api.post(f"{path}/refunds", headers=other_owner, json={"amount": 100}),
                   api.post(f"{path}/refunds", headers=other_owner,
                            json={"lines": [{"line_id": order.lines[0].id, "quantity": 1}],
                                  "restock": True})):
        assert error_of(answer) == (404, "not_found")
    for query in ("", "?q=1001", "?phone=%2B254712345678", "?status=processing"):
        assert api.get(f"{V1}/orders{query}", headers=other_owner).get_json() == {
            "items": [], "next_cursor": None}
    assert order_rows(db) == before
    # The owner's own view is unchanged too.
    assert api.get(path, headers=owner).get_json()["status"] == "shipped"
