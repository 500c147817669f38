"""Notifications from the outbox events: to the shopper on WhatsApp inside the 24-hour window,
by an approved template outside it, by SMS otherwise, and nothing after STOP; to the merchant
by SMS. Sent through the real AT, heyoo and twilio clients against local fakes."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from admin.scheduler import relay_events
from channels import templates
from commerce import carts, fulfilments, inventory, order_flow, order_payments, refunds
from commerce.customers import get_or_create_customer
from commerce.db import utcnow
from commerce.models import Cart, ChannelAddress, OutboxEvent
from channels.models import OutboundMessage
from tests.fakes import graph
from tests.helpers import fresh, place_order, variant_by_sku

PHONE = "+254712345678"
MERCHANT = "+254700123456"  # the demo store's contact phone
TWILIO_WHATSAPP = "+14155238886"


@pytest.fixture
def app(make_app, messaging_settings):
    return make_app(**messaging_settings)


@pytest.fixture
def whatsapp_shop(db, store):
    """The demo store with a Cloud API number and a Twilio WhatsApp number."""
    db.add_all([ChannelAddress(store_id=store.id, channel="whatsapp",
                               address=graph.PHONE_NUMBER_ID),
                ChannelAddress(store_id=store.id, channel="whatsapp", address=TWILIO_WHATSAPP)])
    db.commit()
    return store


def shopper(db, store, via=None, seen_hours_ago=None, **fields):
    customer = get_or_create_customer(db, store, PHONE)
    customer.whatsapp_via = via
    if seen_hours_ago is not None:
        customer.whatsapp_seen_at = utcnow() - timedelta(hours=seen_hours_ago)
    for name, value in fields.items():
        setattr(customer, name, value)
    db.commit()
    return customer


def sms_to(fake_at, phone):
    return [m["message"] for m in fake_at.messages if m["to"] == phone]


RECEIPT = ("Mama Mboga Fresh: order #1001 received. 2x Tomatoes 1kg, 1x Onions 1kg. "
           "Total KSh 340.00. Pay cash on delivery. Help: +254700123456")


# -- the route: WhatsApp in the window, a template outside it, SMS otherwise --------------------
def test_inside_the_window_the_receipt_goes_on_whatsapp(db, whatsapp_shop, fake_at, fake_graph,
                                                        run_jobs):
    shopper(db, whatsapp_shop, via="whatsapp", seen_hours_ago=23)
    place_order(db, whatsapp_shop, payment_method="cod")
    run_jobs()

    [sent] = fake_graph.messages
    assert sent["phone_number_id"] == graph.PHONE_NUMBER_ID
    assert sent["body"]["to"] == "254712345678"
    assert sent["body"]["text"]["body"] == RECEIPT
    assert sms_to(fake_at, PHONE) == []
    assert [m[:34] for m in sms_to(fake_at, MERCHANT)] == ["Mama Mboga Fresh: new order #1001 "]


def test_outside_the_window_an_approved_template_is_used(db, whatsapp_shop, fake_at,
                                                         fake_graph, run_jobs):
    shopper(db, whatsapp_shop, via="whatsapp", seen_hours_ago=25)
    templates.do_set_template(db, whatsapp_shop, "order.placed", "en",
                              "{store}: thank you! Order #{number}, {total}.",
                              whatsapp_template="order_received")
    place_order(db, whatsapp_shop, payment_method="cod")
    run_jobs()

    [sent] = fake_graph.messages
    assert sent["body"]["type"] == "template"
    assert sent["body"]["template"]["name"] == "order_received"
    assert sent["body"]["template"]["language"] == {"code": "en"}
    params = sent["body"]["template"]["components"][0]["parameters"]
    assert [p["text"] for p in params] == ["Mama Mboga Fresh", "1001", "KSh 340.00"]
    assert sms_to(fake_at, PHONE) == []


def test_outside_the_window_without_a_template_the_receipt_goes_by_sms(
        db, whatsapp_shop, fake_at, fake_graph, run_jobs):
    shopper(db, whatsapp_shop, via="whatsapp", seen_hours_ago=25)
    place_order(db, whatsapp_shop, payment_method="cod")
    run_jobs()

    assert fake_graph.messages == []
    assert sms_to(fake_at, PHONE) == [RECEIPT]


def test_twilio_whatsapp_customers_get_it_from_the_stores_twilio_number(
        db, whatsapp_shop, fake_at, fake_twilio, fake_graph, run_jobs):
    shopper(db, whatsapp_shop, via="twilio", seen_hours_ago=1)
    place_order(db, whatsapp_shop, payment_method="cod")
    run_jobs()

    [sent] = fake_twilio.messages
    assert (sent["To"], sent["From"], sent["Body"]) == (
        f"whatsapp:{PHONE}", f"whatsapp:{TWILIO_WHATSAPP}", RECEIPT)
    assert fake_graph.messages == [] and sms_to(fake_at, PHONE) == []


def test_a_store_without_a_whatsapp_number_texts_even_inside_the_window(db, store, fake_at,
                                                                        fake_graph, run_jobs):
    shopper(db, store, via="whatsapp", seen_hours_ago=1)
    place_order(db, store, payment_method="cod")
    run_jobs()

    assert fake_graph.messages == []
    assert sms_to(fake_at, PHONE) == [RECEIPT]


# -- once, and never after STOP ----------------------------------------------------------------
def test_an_event_relayed_twice_sends_once(app, db, store, fake_at, run_jobs):
    place_order(db, store, payment_method="cod")
    run_jobs()
    db.execute(update(OutboxEvent).where(OutboxEvent.name == "order.placed")
               .values(relayed_at=None))
    db.commit()
    with app.app_context():
        relay_events()
    run_jobs()

    assert sms_to(fake_at, PHONE) == [RECEIPT]
    assert len(sms_to(fake_at, MERCHANT)) == 1
    assert db.scalar(select(func.count(OutboundMessage.id))) == 2


def test_an_opted_out_shopper_gets_nothing_but_the_merchant_still_hears(
        db, whatsapp_shop, fake_at, fake_graph, run_jobs):
    customer = shopper(db, whatsapp_shop, via="whatsapp", seen_hours_ago=1,
                       opted_out_at=utcnow(), marketing_consent=True)
    order = place_order(db, whatsapp_shop, payment_method="cod")
    order_payments.do_record_payment(db, whatsapp_shop, order.id, "mpesa", order.total,
                                     "QK1001")
    refunds.do_refund(db, whatsapp_shop, order.id, 10000)
    carts.do_add_to_cart(db, whatsapp_shop, customer.id,
                         variant_by_sku(db, whatsapp_shop, "CABB").id, 1)
    _abandon(db, whatsapp_shop)
    run_jobs()

    assert sms_to(fake_at, PHONE) == [] and fake_graph.messages == []
    assert sms_to(fake_at, MERCHANT) == [
        f"Mama Mboga Fresh: new order #1001 from {PHONE}: 2x Tomatoes 1kg, 1x Onions 1kg. "
        "Total KSh 340.00, cash."]


# -- what happens to the order ------------------------------------------------------------------
def test_shipped_with_tracking_then_delivered(db, store, fake_at, run_jobs):
    order = place_order(db, store, payment_method="mpesa", how="delivery")
    order_payments.do_record_payment(db, store, order.id, "mpesa", order.total, "QK1001")
    run_jobs()
    fake_at.messages.clear()

    fulfilments.do_fulfil(db, store, order.id, carrier="G4S", tracking_number="G4S-778")
    fulfilments.do_mark_delivered(db, store, order.id)
    run_jobs()

    assert sms_to(fake_at, PHONE) == [
        "Mama Mboga Fresh: order #1001 is on its way. Tracking: G4S G4S-778.",
        "Mama Mboga Fresh: order #1001 has been delivered. Thank you for shopping with us!"]


def test_ready_for_pickup_names_the_pickup_point_and_a_refund_its_amount(db, store, fake_at,
                                                                        run_jobs):
    order = place_order(db, store, payment_method="mpesa", how="pickup")
    order_payments.do_record_payment(db, store, order.id, "mpesa", order.total, "QK1001")
    run_jobs()
    fake_at.messages.clear()

    fulfilments.do_fulfil(db, store, order.id)
    refunds.do_refund(db, store, fresh(db, order.id).id, 5000, reason="bruised tomatoes")
    run_jobs()

    assert sms_to(fake_at, PHONE) == [
        "Mama Mboga Fresh: order #1001 is ready for pickup at Kawangware shop.",
        "Mama Mboga Fresh: we refunded KSh 50.00 for order #1001."]


def test_the_shoppers_language_is_used(db, store, fake_at, run_jobs):
    shopper(db, store, locale="sw")
    templates.do_set_template(db, store, "order.placed", "sw",
                              "{store}: oda #{number} imepokelewa. Jumla {total}. {help}")
    place_order(db, store, payment_method="cod")
    run_jobs()

    assert sms_to(fake_at, PHONE) == [
        "Mama Mboga Fresh: oda #1001 imepokelewa. Jumla KSh 340.00. Msaada: +254700123456"]


# -- carts and stock ----------------------------------------------------------------------------
def _abandon(db, store):
    """Make every active cart idle for hours, and let the scheduler's job find them."""
    db.execute(update(Cart).where(Cart.status == "active")
               .values(last_activity_at=utcnow() - timedelta(hours=5), abandoned_at=None))
    db.commit()
    carts.do_detect_abandoned_carts(db)


@pytest.mark.parametrize("consent", [True, False])
def test_a_cart_reminder_goes_once_and_only_with_consent(db, store, fake_at, run_jobs,
                                                         consent):
    customer = shopper(db, store, marketing_consent=consent)
    carts.do_add_to_cart(db, store, customer.id, variant_by_sku(db, store, "TOMA-1KG").id, 2)
    _abandon(db, store)
    run_jobs()
    _abandon(db, store)  # found idle again: the same cart is not reminded twice
    run_jobs()

    assert sms_to(fake_at, PHONE) == ([
        "Mama Mboga Fresh: your cart is waiting: 2x Tomatoes 1kg. Total KSh 240.00. Come back "
        "to finish your order. Reply STOP to opt out."] if consent else [])


def test_low_stock_is_texted_to_the_merchant(db, store, fake_at, run_jobs):
    tomatoes = variant_by_sku(db, store, "TOMA-1KG")
    location = inventory.default_location(db, store.id)
    inventory.do_adjust_stock(db, store, tomatoes.id, location.id, -76, "damaged")
    run_jobs()

    assert sms_to(fake_at, MERCHANT) == [
        "Mama Mboga Fresh: low stock: Tomatoes 1kg (TOMA-1KG) has 4 left."]
    assert sms_to(fake_at, PHONE) == []


# -- money an order does not owe ----------------------------------------------------------------
def test_a_second_payment_for_a_paid_order_is_texted_to_the_merchant_once(
        db, store, fake_at, run_jobs):
    order = place_order(db, store, payment_method="mpesa")  # KSh 340
    order_payments.do_record_payment(db, store, order.id, "mpesa", 34000, "SKA1NLJ7RT")
    order_payments.do_record_payment(db, store, order.id, "mpesa", 34000, "SKB2XQ9PLM")
    order_payments.do_record_payment(db, store, order.id, "mpesa", 34000, "SKB2XQ9PLM")  # again
    run_jobs()
    run_jobs()
    assert sms_to(fake_at, MERCHANT)[1:] == [
        "Mama Mboga Fresh: order #1001 has received KSh 340.00 more than it owes (M-Pesa "
        "SKB2XQ9PLM). Please refund it."]
    assert [event.payload for event in db.scalars(select(OutboxEvent).where(
        OutboxEvent.name == "order.overpaid"))] == [
        {"order_id": order.id, "number": 1001, "payment_id": 2, "amount": 34000}]


def test_a_payment_after_the_order_was_cancelled_is_texted_to_the_merchant(
        db, store, fake_at, run_jobs):
    order = place_order(db, store, payment_method="mpesa")
    order_payments.do_record_payment(db, store, order.id, "mpesa", 10000, "SKA1NLJ7RT")  # part
    order_flow.do_transition_order(db, store, order.id, "cancel", actor="staff:amina")
    order_payments.do_record_payment(db, store, order.id, "mpesa", 24000, "SKB2XQ9PLM")  # late
    run_jobs()
    assert sms_to(fake_at, MERCHANT)[1:] == [
        "Mama Mboga Fresh: order #1001 has received KSh 240.00 more than it owes (M-Pesa "
        "SKB2XQ9PLM). Please refund it."]


@pytest.mark.parametrize("refunded", [10000, 34000], ids=["an item", "all of it"])
def test_a_second_payment_after_a_refund_is_flagged_whole(db, store, fake_at, run_jobs,
                                                         refunded):
    """A refund may have given back goods: the second payment is still all to give back."""
    order = place_order(db, store, payment_method="mpesa")
    order_payments.do_record_payment(db, store, order.id, "mpesa", 34000, "SKA1NLJ7RT")
    refunds.do_refund(db, store, order.id, refunded, reason="onions out")
    order_payments.do_record_payment(db, store, order.id, "mpesa", 34000, "SKB2XQ9PLM")
    assert [event.payload["amount"] for event in db.scalars(select(OutboxEvent).where(
        OutboxEvent.name == "order.overpaid"))] == [34000]


def test_paying_what_is_owed_in_two_parts_tells_the_merchant_nothing_more(
        db, store, fake_at, run_jobs):
    order = place_order(db, store, payment_method="cod")
    order_payments.do_record_payment(db, store, order.id, "cod", 20000, "CASH-1")
    order_payments.do_record_payment(db, store, order.id, "cod", 14000, "CASH-2")
    run_jobs()
    texts = sms_to(fake_at, MERCHANT)
    assert len(texts) == 1 and texts[0].startswith("Mama Mboga Fresh: new order #1001 from")
