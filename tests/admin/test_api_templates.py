"""Message templates through the API: a merchant rewords a notification per language and the
next one sent reads that way; a bad text is refused and changes nothing; never across stores."""
import pytest
from sqlalchemy import select

from channels.models import MessageTemplate
from channels.templates import NOTICES
from tests.admin.conftest import add_staff, bearer, error_of
from tests.helpers import place_order

TEMPLATES = "/api/v1/message-templates"
PLACED_EN = f"{TEMPLATES}/order.placed/en"
SHOPPER = "+254712345678"  # place_order's customer
DEFAULT_RECEIPT = ("Mama Mboga Fresh: order #1001 received. 2x Tomatoes 1kg, 1x Onions 1kg. "
                   "Total KSh 340.00. Pay cash on delivery. Help: +254700123456")


def rows(db):
    db.expire_all()
    return [(r.store_id, r.name, r.locale, r.body, r.whatsapp_template)
            for r in db.scalars(select(MessageTemplate).order_by(MessageTemplate.id))]


def sms_to(fake_at, phone):
    return [m["message"] for m in fake_at.messages if m["to"] == phone]


def test_every_notification_is_listed_in_each_of_the_stores_languages(api, store, owner):
    listed = api.get(TEMPLATES, headers=owner).get_json()

    assert [(t["name"], t["locale"]) for t in listed] == [
        (name, locale) for name in NOTICES for locale in ("en", "sw")]
    placed = {(t["name"], t["locale"]): t for t in listed}["order.placed", "en"]
    assert placed == {
        "name": "order.placed", "locale": "en",
        "body": "{store}: order #{number} received. {items}. Total {total}. {payment} {help}",
        "customised": False, "whatsapp_template": None,
        "placeholders": ["store", "number", "items", "total", "payment", "help"]}
    assert api.get(PLACED_EN, headers=owner).get_json() == placed
    swahili = api.get(f"{TEMPLATES}/order.placed/sw", headers=owner).get_json()
    assert swahili["customised"] is False and swahili["body"] != placed["body"]  # translated


def test_a_new_text_is_what_the_next_receipt_says(api, db, store, owner, fake_at, run_jobs):
    answer = api.put(PLACED_EN, headers=owner, json={
        "body": "  Asante {store}! Order #{number}: {total}. {help}  ",
        "whatsapp_template": "order_received"})

    assert answer.status_code == 200
    assert answer.get_json() == {
        "name": "order.placed", "locale": "en",
        "body": "Asante {store}! Order #{number}: {total}. {help}", "customised": True,
        "whatsapp_template": "order_received",
        "placeholders": ["store", "number", "items", "total", "payment", "help"]}
    assert api.get(PLACED_EN, headers=owner).get_json() == answer.get_json()
    place_order(db, store, payment_method="cod")
    run_jobs()
    assert sms_to(fake_at, SHOPPER) == [
        "Asante Mama Mboga Fresh! Order #1001: KSh 340.00. Help: +254700123456"]


def test_deleting_goes_back_to_the_default(api, db, store, owner, fake_at, run_jobs):
    api.put(PLACED_EN, headers=owner, json={"body": "Order #{number}"})
    api.put(f"{TEMPLATES}/order.placed/sw", headers=owner, json={"body": "Oda #{number}"})

    assert api.delete(PLACED_EN, headers=owner).status_code == 204
    assert api.delete(PLACED_EN, headers=owner).status_code == 204  # already the default
    assert api.get(PLACED_EN, headers=owner).get_json()["customised"] is False
    assert rows(db) == [(store.id, "order.placed", "sw", "Oda #{number}", None)]
    place_order(db, store, payment_method="cod")
    run_jobs()
    assert sms_to(fake_at, SHOPPER) == [DEFAULT_RECEIPT]


def test_a_bad_text_is_refused_with_the_reason_and_changes_nothing(api, db, store, owner):
    api.put(PLACED_EN, headers=owner, json={"body": "Before: #{number}"})
    before = rows(db)
    cases = [
        ({"body": "Pay {price} now"}, (422, "invalid_template"), "body"),
        ({"body": "Order {number"}, (422, "invalid_template"), "body"),
        ({"body": "{store.__class__}"}, (422, "invalid_template"), "body"),
        ({"body": "   "}, (422, "invalid_template"), "body"),
        ({"body": "x" * 1001}, (422, "invalid_template"), "body"),
        ({"body": "Hi", "whatsapp_template": "not a name!"}, (422, "invalid_template"),
         "whatsapp_template"),
        ({"body": 5}, (422, "invalid_body"), None),
        ({}, (422, "invalid_body"), None),
        ({"body": "Hi", "colour": "red"}, (422, "invalid_body"), None),
    ]
    for body, expected, field in cases:
        answer = api.put(PLACED_EN, headers=owner, json=body)
        assert error_of(answer) == expected, body
        if field:
            assert answer.get_json()["error"]["details"] == {"field": field}, body
    refused = api.put(PLACED_EN, headers=owner, json={"body": "Pay {price} now"}).get_json()
    assert refused["error"]["message"] == (
        "{price} is not a placeholder of order.placed; use {store}, {number}, {items}, "
        "{total}, {payment}, {help}.")
    assert rows(db) == before


@pytest.mark.parametrize("path", [f"{TEMPLATES}/order.lost/en", f"{TEMPLATES}/order.placed/fr",
                                  f"{TEMPLATES}/order.placed/EN"])
def test_an_unknown_notification_or_language_is_404(api, db, owner, path):
    assert error_of(api.get(path, headers=owner)) == (404, "not_found")
    assert error_of(api.put(path, headers=owner, json={"body": "Hi"})) == (404, "not_found")
    assert error_of(api.delete(path, headers=owner)) == (404, "not_found")
    assert rows(db) == []


def test_another_stores_owner_neither_sees_nor_changes_this_stores_texts(
        api, db, store, owner, other_store, other_owner):
    api.put(PLACED_EN, headers=owner, json={"body": "Mama Mboga: #{number}"})

    theirs = api.get(PLACED_EN, headers=other_owner).get_json()
    assert (theirs["customised"], theirs["body"].startswith("{store}: order")) == (False, True)
    assert not any(t["customised"] for t in api.get(TEMPLATES, headers=other_owner).get_json())
    # Duka ya Juma offers English only: this store's Swahili texts are not theirs to address.
    assert error_of(api.get(f"{TEMPLATES}/order.placed/sw", headers=other_owner)) == \
        (404, "not_found")
    assert api.put(PLACED_EN, headers=other_owner, json={"body": "Juma: #{number}"}) \
        .status_code == 200
    assert api.delete(PLACED_EN, headers=other_owner).status_code == 204
    assert rows(db) == [(store.id, "order.placed", "en", "Mama Mboga: #{number}", None)]
    assert api.get(PLACED_EN, headers=owner).get_json()["body"] == "Mama Mboga: #{number}"


@pytest.mark.parametrize("role", ["staff", "viewer"])
def test_staff_and_viewers_read_but_cannot_change_texts(app, api, db, store, role):
    headers = bearer(app, add_staff(db, store, "+254711000009", role=role))

    assert api.get(TEMPLATES, headers=headers).status_code == 200
    assert api.get(PLACED_EN, headers=headers).status_code == 200
    assert error_of(api.put(PLACED_EN, headers=headers, json={"body": "Hi"})) == \
        (403, "forbidden")
    assert error_of(api.delete(PLACED_EN, headers=headers)) == (403, "forbidden")
    assert rows(db) == []


def test_a_manager_may_change_texts(app, api, db, store):
    headers = bearer(app, add_staff(db, store, "+254711000009", role="manager"))
    assert api.put(PLACED_EN, headers=headers, json={"body": "#{number}"}).status_code == 200
