"""A merchant's draft order reaches its customer: sent through the merchant API, it arrives by
SMS (WhatsApp within the 24-hour window) with the items, the total in the store's currency and
how to pay. Real AT and heyoo clients against the local fakes."""
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from admin.scheduler import relay_events
from channels import templates
from channels.models import OutboundMessage
from commerce import drafts
from commerce.customers import get_or_create_customer
from commerce.db import utcnow
from commerce.demo import link_demo_whatsapp
from commerce.models import OutboxEvent, Payment
from tests.admin.conftest import OWNER_PHONE, add_staff, bearer
from tests.fakes import graph
from tests.helpers import fresh, variant_by_sku

V1 = "/api/v1"
PHONE = "+254712345678"
# Tomatoes 1kg x2 (KSh 120 each) and a cabbage (KSh 60), prices including VAT.
DRAFT_SMS = ("Mama Mboga Fresh: your order #1001 is ready: 2x Tomatoes 1kg, 1x Cabbage. Total "
             "KSh 300.00. To pay, send MBOGA PAY 1001 to 22384 or dial *384*123#.")


@pytest.fixture
def app(make_app, messaging_settings):
    return make_app(**messaging_settings)


@pytest.fixture
def owner(app, db, store):
    return bearer(app, add_staff(db, store, OWNER_PHONE))


@pytest.fixture
def draft(app, db, store, owner):
    lines = [{"variant_id": variant_by_sku(db, store, sku).id, "quantity": quantity}
             for sku, quantity in (("TOMA-1KG", 2), ("CABB", 1))]
    answer = app.test_client().post(f"{V1}/draft-orders", headers=owner,
                                    json={"phone": "0712 345678", "lines": lines})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def send(app, owner, draft):
    answer = app.test_client().post(f"{V1}/draft-orders/{draft['id']}/send", headers=owner)
    assert answer.status_code == 202, answer.get_json()


def sms_to(fake_at, phone=PHONE):
    return [m["message"] for m in fake_at.messages if m["to"] == phone]


def test_a_sent_draft_reaches_the_customer_by_sms_with_its_total_and_how_to_pay(
        app, db, owner, draft, fake_at, fake_graph, run_jobs):
    send(app, owner, draft)
    run_jobs()

    assert sms_to(fake_at) == [DRAFT_SMS]
    assert fake_graph.messages == []
    message = db.scalar(select(OutboundMessage).where(OutboundMessage.recipient == PHONE))
    assert (message.purpose, message.status) == ("order.draft_sent", "sent")


def test_each_send_is_a_message_but_an_event_relayed_twice_is_one(app, db, owner, draft,
                                                                  fake_at, run_jobs):
    send(app, owner, draft)
    run_jobs()
    db.execute(update(OutboxEvent).values(relayed_at=None))  # the relay ran twice
    db.commit()
    with app.app_context():
        relay_events()
    run_jobs()
    assert sms_to(fake_at) == [DRAFT_SMS]

    send(app, owner, draft)  # the merchant sends it again
    run_jobs()
    assert sms_to(fake_at) == [DRAFT_SMS, DRAFT_SMS]


def test_a_pay_link_is_offered_when_the_payments_side_made_one(app, db, store, owner, draft,
                                                               fake_at, run_jobs):
    db.add(Payment(store_id=store.id, order_id=draft["id"], method="paystack", amount=30000,
                   currency="KES", status="pending", phone=PHONE,
                   redirect_url="https://checkout.paystack.test/d1001"))
    db.commit()
    send(app, owner, draft)
    run_jobs()

    assert sms_to(fake_at) == [DRAFT_SMS.replace(
        "To pay, send MBOGA PAY 1001 to 22384 or dial *384*123#.",
        "Pay here: https://checkout.paystack.test/d1001")]


def test_the_merchant_words_it_in_the_customers_language(app, db, store, owner, draft,
                                                         fake_at, run_jobs):
    customer = get_or_create_customer(db, store, PHONE)
    customer.locale = "sw"
    db.commit()
    templates.do_set_template(db, store, "order.draft_sent", "sw",
                              "{store}: oda yako #{number} iko tayari. Jumla {total}. {pay}")
    send(app, owner, draft)
    run_jobs()

    [text] = sms_to(fake_at)
    assert text.startswith("Mama Mboga Fresh: oda yako #1001 iko tayari. Jumla KSh")
    assert "LIPA 1001" in text  # the keyword in the customer's language, which the shop reads


def test_inside_the_whatsapp_window_it_goes_on_whatsapp(app, db, store, owner, draft,
                                                       fake_at, fake_graph, run_jobs):
    link_demo_whatsapp(db, store, graph.PHONE_NUMBER_ID)
    customer = get_or_create_customer(db, store, PHONE)
    customer.whatsapp_via, customer.whatsapp_seen_at = "whatsapp", utcnow() - timedelta(hours=2)
    db.commit()
    send(app, owner, draft)
    run_jobs()

    [sent] = fake_graph.messages
    assert sent["body"]["text"]["body"] == DRAFT_SMS
    assert sms_to(fake_at) == []


def test_a_draft_completed_before_the_message_goes_is_not_sent(app, db, store, owner, draft,
                                                               fake_at, run_jobs, monkeypatch):
    held = []
    jobs = app.extensions["duka.channels"].jobs
    monkeypatch.setattr(jobs, "enqueue", lambda func, *args, retries=0: held.append(
        (func, args)))
    send(app, owner, draft)
    monkeypatch.undo()
    drafts.do_complete_draft(db, store, fresh(db, draft["id"]).draft_token, "cod")
    for func, args in held:  # the relay, then the notification job, run after the customer
        with app.app_context():
            func(*args)
    run_jobs()

    assert [m for m in sms_to(fake_at) if "is ready" in m] == []


def test_following_the_prompt_places_the_draft_and_asks_for_the_payment(
        app, db, store, owner, draft, fake_at, run_jobs):
    from tests.channels.conftest import AT_CALLBACK_TOKEN

    send(app, owner, draft)
    run_jobs()
    client = app.test_client()

    def text(body, n):
        before = len(fake_at.messages)
        answer = client.post(f"/channels/sms/africastalking?token={AT_CALLBACK_TOKEN}", data={
            "from": PHONE, "to": "22384", "text": body, "id": f"ATXid_draft_{n}",
            "date": "2026-11-27 10:00:00", "networkCode": "63902", "linkId": ""})
        assert answer.status_code == 200
        run_jobs()
        return [m["message"] for m in fake_at.messages[before:] if m["to"] == PHONE]

    # A draft has no way to pay yet, so cash is a choice (this store takes only cash).
    assert text("MBOGA PAY 1001", 1) == [
        "Pay KSh 300 for order #1001:\n1. Pay cash on delivery\n0. Back"]
    placed = text("1", 2)
    assert placed and "#1001" in placed[0]
    order = fresh(db, draft["id"])
    assert (order.status, order.payment_method) == ("pending_payment", "cod")


def test_pay_with_another_customers_draft_number_finds_nothing(app, db, store, owner, draft,
                                                               fake_at, run_jobs):
    from tests.channels.conftest import AT_CALLBACK_TOKEN

    send(app, owner, draft)
    run_jobs()
    answer = app.test_client().post(f"/channels/sms/africastalking?token={AT_CALLBACK_TOKEN}",
                                    data={"from": "+254722000999", "to": "22384",
                                          "text": "MBOGA PAY 1001", "id": "ATXid_other",
                                          "date": "2026-11-27 10:00:00", "networkCode": "63902"})
    assert answer.status_code == 200
    run_jobs()
    replies = [m["message"] for m in fake_at.messages if m["to"] == "+254722000999"]
    assert replies and replies[0].startswith("You have nothing to pay.")
    assert fresh(db, draft["id"]).status == "draft"
