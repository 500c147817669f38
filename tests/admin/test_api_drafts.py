"""Draft orders over the merchant API: written up for a phone number, read, changed, sent to the
customer, discarded; completed by the customer they become orders (same id).

In the demo store tomatoes 1kg are KSh 120 (80 on hand), cabbage KSh 60 (40 on hand); prices
include 16 % VAT.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from commerce import drafts
from commerce.models import Customer, Order, OrderLine, OrderStatusChange, OutboxEvent, Stock
from tests.admin.conftest import add_staff, bearer, error_of
from tests.helpers import events_named, fresh, on_hand, place_order, variant_by_sku

V1 = "/api/v1"


def rows(db) -> tuple:
    """Every order-side row of every store (and the customers and events), to prove a refused
    request changed none."""
    db.expire_all()
    return tuple(tuple(db.execute(select(model.__table__).order_by(model.__table__.c.id)).all())
                 for model in (Order, OrderLine, OrderStatusChange, Customer, Stock)) + (
        db.scalar(select(func.count(OutboxEvent.id))),)


def untimed(answer: dict) -> dict:
    for key in ("created_at", "updated_at"):
        assert isinstance(answer.pop(key), str)
    return answer


@pytest.fixture
def ids(db, store):
    def ids(**by_sku) -> list[dict]:
        return [{"variant_id": variant_by_sku(db, store, sku.replace("_", "-")).id,
                 "quantity": quantity} for sku, quantity in by_sku.items()]

    return ids


@pytest.fixture
def draft(api, owner, ids):
    """A draft for 0712 345678: tomatoes 1kg x2, cabbage x1."""
    answer = api.post(f"{V1}/draft-orders", headers=owner, json={
        "phone": "0712 345678", "lines": ids(TOMA_1KG=2, CABB=1), "note": "After 5pm"})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def test_a_draft_is_written_up_for_a_phone_number_and_takes_no_stock(api, db, store, owner,
                                                                      draft):
    order = db.scalar(select(Order).where(Order.id == draft["id"]))
    tomatoes, cabbage = order.lines
    expected = {
        "id": order.id, "number": 1001, "state": "open", "status": "draft", "currency": "KES",
        "customer": {"id": order.customer_id, "phone": "+254712345678", "name": ""},
        "lines": [
            {"id": tomatoes.id, "variant_id": variant_by_sku(db, store, "TOMA-1KG").id,
             "title": "Tomatoes 1kg", "sku": "TOMA-1KG", "unit_price": 12000, "quantity": 2,
             "quantity_fulfilled": 0, "quantity_returned": 0, "total": 24000},
            {"id": cabbage.id, "variant_id": variant_by_sku(db, store, "CABB").id,
             "title": "Cabbage", "sku": "CABB", "unit_price": 6000, "quantity": 1,
             "quantity_fulfilled": 0, "quantity_returned": 0, "total": 6000}],
        "totals": {"subtotal": 30000, "discount": 0, "shipping": 0, "tax": 4138,
                   "total": 30000},
        "note": "After 5pm"}
    assert untimed(dict(draft)) == expected
    assert untimed(api.get(f"{V1}/draft-orders/{order.id}", headers=owner).get_json()) \
        == expected
    assert (on_hand(db, "TOMA-1KG"), on_hand(db, "CABB")) == (80, 40)
    # Not an order yet: the order list leaves it out, the draft list has it.
    assert api.get(f"{V1}/orders", headers=owner).get_json()["items"] == []
    assert [d["id"] for d in api.get(f"{V1}/draft-orders",
                                     headers=owner).get_json()["items"]] == [order.id]
    history = api.get(f"{V1}/orders/{order.id}/history", headers=owner).get_json()["items"]
    assert [(c["to_status"], c["reason"]) for c in history] == [("draft", "draft created")]


def test_sending_a_draft_records_the_event_the_message_goes_out_on(api, db, store, owner,
                                                                   draft):
    sent = api.post(f"{V1}/draft-orders/{draft['id']}/send", headers=owner)
    assert sent.status_code == 202
    assert sent.get_json()["state"] == "open"
    token = fresh(db, draft["id"]).draft_token
    assert events_named(db, "order.draft_sent") == [
        {"order_id": draft["id"], "draft_token": token, "phone": "+254712345678"}]
    assert token not in sent.get_data(as_text=True)  # the customer's link is theirs
    api.post(f"{V1}/draft-orders/{draft['id']}/send", headers=owner)  # a resend
    assert len(events_named(db, "order.draft_sent")) == 2


def test_a_completed_draft_is_an_order_and_can_no_longer_change(api, db, store, owner, draft,
                                                                ids):
    drafts.do_complete_draft(db, store, fresh(db, draft["id"]).draft_token, "cod")
    shown = api.get(f"{V1}/draft-orders/{draft['id']}", headers=owner).get_json()
    assert (shown["state"], shown["status"]) == ("completed", "pending_payment")
    assert [o["id"] for o in api.get(f"{V1}/orders", headers=owner).get_json()["items"]] == [
        draft["id"]]
    assert on_hand(db, "TOMA-1KG") == 78
    before = rows(db)
    for answer in (api.post(f"{V1}/draft-orders/{draft['id']}/send", headers=owner),
                   api.put(f"{V1}/draft-orders/{draft['id']}/lines", headers=owner,
                           json={"lines": ids(CABB=5)}),
                   api.delete(f"{V1}/draft-orders/{draft['id']}", headers=owner)):
        assert error_of(answer) == (409, "not_a_draft")
    assert answer.get_json()["error"]["message"] == (
        "Order #1001 is awaiting payment; it is no longer a draft to change.")
    assert rows(db) == before


def test_changing_the_lines_replaces_the_draft(api, db, store, owner, draft, ids):
    changed = api.put(f"{V1}/draft-orders/{draft['id']}/lines", headers=owner,
                      json={"lines": ids(CABB=3, ONIO_1KG=1)})
    assert changed.status_code == 200
    new = changed.get_json()
    assert (new["number"], new["state"], new["note"], new["customer"]) == (
        1002, "open", "After 5pm", draft["customer"])
    assert [(ln["sku"], ln["quantity"]) for ln in new["lines"]] == [("CABB", 3),
                                                                    ("ONIO-1KG", 1)]
    assert new["totals"]["total"] == 28000
    old = api.get(f"{V1}/draft-orders/{draft['id']}", headers=owner).get_json()
    assert (old["state"], old["status"]) == ("cancelled", "cancelled")
    history = api.get(f"{V1}/orders/{draft['id']}/history", headers=owner).get_json()["items"]
    assert history[-1]["reason"] == "replaced by draft #1002"
    assert [d["number"] for d in api.get(f"{V1}/draft-orders?state=open",
                                         headers=owner).get_json()["items"]] == [1002]
    assert [d["number"] for d in api.get(f"{V1}/draft-orders?state=cancelled",
                                         headers=owner).get_json()["items"]] == [1001]
    assert api.get(f"{V1}/draft-orders?state=completed",
                   headers=owner).get_json()["items"] == []


def test_a_draft_is_discarded(api, db, store, owner, draft):
    assert api.delete(f"{V1}/draft-orders/{draft['id']}", headers=owner).status_code == 204
    assert fresh(db, draft["id"]).status == "cancelled"
    assert error_of(api.delete(f"{V1}/draft-orders/{draft['id']}", headers=owner)) == (
        409, "not_a_draft")
    assert error_of(api.post(f"{V1}/draft-orders/{draft['id']}/send", headers=owner)) == (
        409, "not_a_draft")


@pytest.mark.parametrize("change, expected", [
    ({"phone": "not a phone"}, (422, "invalid_phone_number")),
    ({"phone": 712345678}, (422, "invalid_body")),
    ({"phone": None}, (422, "invalid_body")),
    ({"lines": []}, (422, "invalid_body")),
    ({"lines": [{"variant_id": "1", "quantity": 1}]}, (422, "invalid_body")),
    ({"lines": [{"variant_id": 999999, "quantity": 1}]}, (404, "not_found")),
    ({"lines": [{"variant_id": "TOMA", "quantity": 0}]}, (422, "invalid_body")),
    ({"lines": [{"variant_id": "TOMA", "quantity": -2}]}, (422, "invalid_body")),
    ({"lines": [{"variant_id": "TOMA", "quantity": "2"}]}, (422, "invalid_body")),
    ({"lines": [{"variant_id": "TOMA", "quantity": 81}]}, (409, "out_of_stock")),
    ({"lines": [{"variant_id": "TOMA", "quantity": 1}, {"variant_id": "TOMA", "quantity": 1}]},
     (422, "invalid_body")),
    ({"note": "x" * 501}, (422, "invalid_body")),
    ({"note": "after\x00five"}, (422, "invalid_body")),  # PostgreSQL text: no NUL
    ({"discount": 100}, (422, "invalid_body")),
])
def test_a_bad_draft_is_refused_and_nothing_is_created(api, db, store, owner, change,
                                                       expected):
    body = {"phone": "0722 000111", "lines": [{"variant_id": "TOMA", "quantity": 1}], **change}
    tomatoes = variant_by_sku(db, store, "TOMA-1KG").id
    body["lines"] = [{**ln, "variant_id": tomatoes} if ln.get("variant_id") == "TOMA" else ln
                     for ln in body["lines"]]
    before = rows(db)
    assert error_of(api.post(f"{V1}/draft-orders", headers=owner, json=body)) == expected
    assert rows(db) == before
    if "phone" not in change:  # a new customer is not made for a draft that was refused
        assert db.scalar(select(Customer).where(Customer.phone == "+254722000111")) is None


def test_bad_new_lines_leave_the_draft_as_it_was(api, db, store, owner, draft, ids):
    before = rows(db)
    for body, expected in (({"lines": ids(TOMA_1KG=81)}, (409, "out_of_stock")),
                           ({"lines": []}, (422, "invalid_body")),
                           ({"lines": ids(CABB=1), "phone": "0733000222"},
                            (422, "invalid_body"))):
        answer = api.put(f"{V1}/draft-orders/{draft['id']}/lines", headers=owner, json=body)
        assert error_of(answer) == expected
    assert rows(db) == before
    assert error_of(api.get(f"{V1}/draft-orders?state=sent", headers=owner)) == (
        422, "invalid_query")


def test_a_viewer_reads_drafts_but_cannot_write_or_send_them(app, api, db, store, draft, ids):
    viewer = bearer(app, add_staff(db, store, "+254711222444", role="viewer"))
    assert api.get(f"{V1}/draft-orders/{draft['id']}", headers=viewer).status_code == 200
    before = rows(db)
    for answer in (api.post(f"{V1}/draft-orders", headers=viewer,
                            json={"phone": "0722000111", "lines": ids(CABB=1)}),
                   api.put(f"{V1}/draft-orders/{draft['id']}/lines", headers=viewer,
                           json={"lines": ids(CABB=1)}),
                   api.post(f"{V1}/draft-orders/{draft['id']}/send", headers=viewer),
                   api.delete(f"{V1}/draft-orders/{draft['id']}", headers=viewer)):
        assert error_of(answer) == (403, "forbidden")
    assert rows(db) == before


def test_another_stores_drafts_and_variants_are_out_of_reach(api, db, store, owner, draft,
                                                             other_owner, ids):
    """Store B's owner on the demo store's draft: 404, as if missing, and nothing changes."""
    before = rows(db)
    path = f"{V1}/draft-orders/{draft['id']}"
    for answer in (api.get(path, headers=other_owner),
                   api.put(f"{path}/lines", headers=other_owner, json={"lines": ids(CABB=1)}),
                   api.post(f"{path}/send", headers=other_owner),
                   api.delete(path, headers=other_owner),
                   api.get(f"{V1}/orders/{draft['id']}", headers=other_owner),
                   api.post(f"{V1}/orders/{draft['id']}/cancel", headers=other_owner, json={}),
                   # the demo store's variants are not store B's to sell
                   api.post(f"{V1}/draft-orders", headers=other_owner,
                            json={"phone": "0712345678", "lines": ids(CABB=1)})):
        assert error_of(answer) == (404, "not_found")
    assert api.get(f"{V1}/draft-orders", headers=other_owner).get_json() == {
        "items": [], "next_cursor": None}
    assert rows(db) == before
    assert events_named(db, "order.draft_sent") == []


def test_an_order_placed_at_checkout_is_not_a_draft(api, db, store, owner):
    order = place_order(db, store)
    for answer in (api.get(f"{V1}/draft-orders/{order.id}", headers=owner),
                   api.post(f"{V1}/draft-orders/{order.id}/send", headers=owner),
                   api.delete(f"{V1}/draft-orders/{order.id}", headers=owner)):
        assert error_of(answer) == (404, "not_found")
    assert fresh(db, order.id).status == "pending_payment"
    assert events_named(db, "order.draft_sent") == []
