"""Order receipts go out by SMS through the africastalking SDK, from a background job; the
merchant hears of the new order by SMS too."""
import logging

import pytest
from sqlalchemy import func, select

from commerce import carts, checkout
from commerce.customers import get_or_create_customer
from commerce.models import Order, Variant

PHONE = "+254712345678"
MERCHANT = "+254700123456"  # the demo store's contact phone


def place_order(db, store) -> Order:
    customer = get_or_create_customer(db, store, PHONE)
    tomatoes = db.scalar(select(Variant).where(Variant.sku == "TOMA-1KG"))
    carts.do_add_to_cart(db, store, customer.id, tomatoes.id, 2)
    return checkout.do_place_order(db, store, customer.id)


def test_a_placed_order_sends_an_sms_receipt_to_the_shopper(db, store, fake_at, run_jobs):
    order = place_order(db, store)
    run_jobs()

    assert sorted(fake_at.messages, key=lambda m: m["to"] != PHONE) == [{
        "username": fake_at.username, "to": PHONE, "bulkSMSMode": "1",
        "message": f"Mama Mboga Fresh: order #{order.number} received. 2x Tomatoes 1kg. "
                   "Total KSh 240.00. Pay cash on delivery. Help: +254700123456",
    }, {
        "username": fake_at.username, "to": MERCHANT, "bulkSMSMode": "1",
        "message": f"Mama Mboga Fresh: new order #{order.number} from {PHONE}: 2x Tomatoes "
                   "1kg. Total KSh 240.00, cash.",
    }]


def test_a_failed_send_is_retried_and_logged_and_the_order_stands(db, store, fake_at,
                                                                   run_jobs, caplog):
    fake_at.fail_next = 2
    with caplog.at_level(logging.INFO):
        place_order(db, store)
        run_jobs()

    assert fake_at.attempts == 4  # two failures, then the receipt and the merchant's SMS
    assert sorted(m["to"] for m in fake_at.messages) == sorted([PHONE, MERCHANT])
    assert "Africa's Talking refused or failed" in caplog.text
    assert db.scalar(select(func.count(Order.id))) == 1


def test_a_send_that_never_works_gives_up_after_the_retries_without_losing_the_order(
        db, store, fake_at, run_jobs, caplog):
    fake_at.fail_next = 100
    with caplog.at_level(logging.INFO):
        place_order(db, store)
        run_jobs()

    assert fake_at.attempts == 8  # per message (receipt, merchant's): a try and three retries
    assert fake_at.messages == []
    assert "Africa's Talking refused or failed" in caplog.text
    assert db.scalar(select(func.count(Order.id))) == 1


def test_a_number_africas_talking_rejects_for_good_is_logged_not_retried(
        db, store, fake_at, run_jobs, caplog):
    fake_at.recipient_status = (403, "InvalidPhoneNumber")
    with caplog.at_level(logging.INFO):
        place_order(db, store)
        run_jobs()

    assert fake_at.attempts == 2  # once each: the receipt and the merchant's SMS
    assert f"SMS to {PHONE} rejected: InvalidPhoneNumber (403)" in caplog.text


@pytest.fixture
def demo_app(make_app):
    return make_app(REDIS_URL="", AT_USERNAME="", AT_API_KEY="")


def test_without_credentials_the_receipt_is_logged_as_not_sent(demo_app, fake_at, caplog):
    from commerce.demo import seed_demo_store

    with demo_app.extensions["duka.db"]() as db, caplog.at_level(logging.WARNING):
        store, _ = seed_demo_store(db)
        place_order(db, store)

    assert "SMS NOT SENT (set AT_USERNAME and AT_API_KEY to send) to +254712345678: " \
           "Mama Mboga Fresh: order #1001 received." in caplog.text
    assert fake_at.attempts == 0
