"""Discount codes: list, create, change, deactivate; checkout honours what is set here."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from commerce.models import DiscountCode
from commerce.promotions import DiscountRefused, check_discount_code
from tests.admin.conftest import add_staff, bearer, error_of

CODES = "/api/v1/discount-codes"


def codes(db):
    db.expire_all()
    return [(d.id, d.store_id, d.code, d.kind, d.value, d.min_order, d.starts_at, d.ends_at,
             d.usage_limit, d.per_customer_limit, d.first_order_only, d.active, d.times_used)
            for d in db.scalars(select(DiscountCode).order_by(DiscountCode.id))]


def karibu(db, store):
    return db.scalar(select(DiscountCode).where(DiscountCode.store_id == store.id))


def test_the_demo_code_is_listed(api, db, store, owner):
    code = karibu(db, store)
    page = api.get(CODES, headers=owner).get_json()
    created = page["items"][0].pop("created_at")
    assert datetime.fromisoformat(created) == code.created_at
    assert page == {"items": [{
        "id": code.id, "code": "KARIBU10", "kind": "percentage", "value": 1000,
        "min_order": 50000, "starts_at": None, "ends_at": None, "usage_limit": None,
        "per_customer_limit": None, "first_order_only": True, "active": True,
        "times_used": 0}], "next_cursor": None}
    assert api.get(f"{CODES}?q=karibu", headers=owner).get_json()["items"][0]["id"] == code.id
    assert api.get(f"{CODES}?active=false", headers=owner).get_json()["items"] == []


def test_a_code_is_created_and_checkout_takes_it(api, db, store, owner):
    answer = api.post(CODES, headers=owner, json={
        "code": "sikukuu 200", "kind": "fixed", "value": 20000, "min_order": 100000,
        "starts_at": "2026-12-20T00:00:00+03:00", "ends_at": "2027-01-02T00:00:00+03:00",
        "usage_limit": 100, "per_customer_limit": 1})
    assert answer.status_code == 201
    body = answer.get_json()
    assert {k: v for k, v in body.items() if k not in ("id", "created_at")} == {
        "code": "SIKUKUU200", "kind": "fixed", "value": 20000, "min_order": 100000,
        "starts_at": "2026-12-19T21:00:00Z", "ends_at": "2027-01-01T21:00:00Z",
        "usage_limit": 100, "per_customer_limit": 1, "first_order_only": False,
        "active": True, "times_used": 0}
    christmas = datetime(2026, 12, 25, tzinfo=timezone.utc)
    assert check_discount_code(db, store, "Sikukuu200", None, 150000, now=christmas).id == \
        body["id"]
    with pytest.raises(DiscountRefused):
        check_discount_code(db, store, "SIKUKUU200", None, 150000,
                            now=datetime(2027, 1, 5, tzinfo=timezone.utc))


def test_a_code_is_changed_and_deactivated(api, db, store, owner):
    code = karibu(db, store)
    answer = api.patch(f"{CODES}/{code.id}", headers=owner, json={
        "value": 1500, "first_order_only": False, "ends_at": "2027-01-01T00:00:00Z"})
    assert answer.status_code == 200
    body = answer.get_json()
    assert (body["value"], body["first_order_only"], body["ends_at"]) == (
        1500, False, "2027-01-01T00:00:00Z")
    cleared = api.patch(f"{CODES}/{code.id}", headers=owner, json={"ends_at": None})
    assert cleared.get_json()["ends_at"] is None
    off = api.post(f"{CODES}/{code.id}/deactivate", headers=owner)
    assert off.status_code == 200 and off.get_json()["active"] is False
    db.expire_all()
    with pytest.raises(DiscountRefused):
        check_discount_code(db, store, "KARIBU10", None, 60000)
    assert [c["id"] for c in api.get(f"{CODES}?active=false",
                                     headers=owner).get_json()["items"]] == [code.id]
    on = api.patch(f"{CODES}/{code.id}", headers=owner, json={"active": True})
    assert on.get_json()["active"] is True
    db.expire_all()
    assert check_discount_code(db, store, "karibu10", None, 60000).id == code.id


def test_bad_codes_are_refused_and_change_nothing(api, db, store, owner):
    code = karibu(db, store)
    good = {"code": "NEW", "kind": "percentage", "value": 500}
    before = codes(db)
    cases = [
        (CODES, {**good, "code": "karibu 10"}, (409, "code_taken")),
        (CODES, {**good, "value": 10_001}, (422, "invalid_discount")),
        (CODES, {**good, "value": 0}, (422, "invalid_body")),
        (CODES, {**good, "value": -5}, (422, "invalid_body")),
        (CODES, {**good, "value": "500"}, (422, "invalid_body")),
        (CODES, {**good, "min_order": -1}, (422, "invalid_body")),
        (CODES, {**good, "usage_limit": 0}, (422, "invalid_body")),
        (CODES, {**good, "kind": "bogof"}, (422, "invalid_body")),
        (CODES, {**good, "code": ""}, (422, "invalid_body")),
        (CODES, {**good, "code": "   "}, (422, "invalid_body")),
        (CODES, {**good, "code": "50%OFF"}, (422, "invalid_body")),
        (CODES, {**good, "code": "X" * 41}, (422, "invalid_body")),
        (CODES, {**good, "times_used": 3}, (422, "invalid_body")),
        (CODES, {"kind": "fixed", "value": 5}, (422, "invalid_body")),
        (CODES, {**good, "starts_at": "2026-12-20T00:00:00"}, (422, "invalid_body")),  # naive
        (CODES, {**good, "starts_at": "9999-12-31T23:59:59-05:00"}, (422, "invalid_body")),
        (CODES, {**good, "starts_at": "2027-01-02T00:00:00Z",
                 "ends_at": "2027-01-01T00:00:00Z"}, (422, "invalid_discount")),
        (f"{CODES}/{code.id}", {"code": "KARIBU10", "value": 20_000},
         (422, "invalid_discount")),
        (f"{CODES}/{code.id}", {"value": None, "kind": "fixed", "code": 5},
         (422, "invalid_body")),
    ]
    for path, body, expected in cases:
        send = api.patch if path != CODES else api.post
        assert error_of(send(path, headers=owner, json=body)) == expected, body
    assert codes(db) == before


def test_a_limit_cannot_go_below_the_uses_already_made(api, db, store, owner):
    code = karibu(db, store)
    code.times_used = 4
    db.commit()
    answer = api.patch(f"{CODES}/{code.id}", headers=owner, json={"usage_limit": 3})
    assert answer.get_json()["error"]["message"] == \
        "It has been used 4 times already: usage_limit cannot be lower."
    assert api.patch(f"{CODES}/{code.id}", headers=owner,
                     json={"usage_limit": 4}).status_code == 200


def test_staff_and_viewers_read_codes_but_cannot_change_them(app, api, db, store):
    code = karibu(db, store)
    before = codes(db)
    for role, phone in (("viewer", "+254711222444"), ("staff", "+254711222555")):
        headers = bearer(app, add_staff(db, store, phone, role=role))
        assert api.get(f"{CODES}/{code.id}", headers=headers).status_code == 200
        for answer in (api.post(CODES, headers=headers,
                                json={"code": "MINE", "kind": "fixed", "value": 1}),
                       api.patch(f"{CODES}/{code.id}", headers=headers, json={"value": 1}),
                       api.post(f"{CODES}/{code.id}/deactivate", headers=headers)):
            assert error_of(answer) == (403, "forbidden")
    assert codes(db) == before


def test_another_stores_codes_are_out_of_reach(api, db, store, owner, other_store,
                                               other_owner):
    theirs = api.post(CODES, headers=other_owner, json={
        "code": "JUMA5", "kind": "percentage", "value": 500}).get_json()
    before = codes(db)
    for answer in (api.get(f"{CODES}/{theirs['id']}", headers=owner),
                   api.patch(f"{CODES}/{theirs['id']}", headers=owner, json={"value": 9000}),
                   api.post(f"{CODES}/{theirs['id']}/deactivate", headers=owner)):
        assert error_of(answer) == (404, "not_found")
    assert [c["code"] for c in api.get(CODES, headers=owner).get_json()["items"]] == \
        ["KARIBU10"]
    assert api.get(f"{CODES}?q=JUMA", headers=owner).get_json()["items"] == []
    assert codes(db) == before
    # Codes are per store: Mama Mboga may have a JUMA5 of her own.
    assert api.post(CODES, headers=owner, json={
        "code": "JUMA5", "kind": "fixed", "value": 100}).status_code == 201
    with pytest.raises(DiscountRefused):
        check_discount_code(db, other_store, "KARIBU10", None, 60000)
