"""SMS and WhatsApp through Twilio: signed webhooks in (checked against the public URL, as
behind a proxy), replies sent with the real twilio SDK to a local fake of Twilio's API."""
import pytest
from sqlalchemy import func, select

from channels.models import InboundMessage, OutboundMessage
from commerce.customers import find_customer_by_phone
from commerce.stores import do_add_channel_address
from tests.channels.conftest import PUBLIC_URL
from tests.fakes import twilio

PHONE = "+254712345678"
OUR_SMS_NUMBER = "+254711000222"
OUR_WHATSAPP_NUMBER = "+14155238886"


@pytest.fixture
def app(make_app, messaging_settings):
    return make_app(**messaging_settings)


@pytest.fixture
def shop(db, store):
    do_add_channel_address(db, store, "sms", OUR_SMS_NUMBER)
    do_add_channel_address(db, store, "whatsapp", OUR_WHATSAPP_NUMBER)
    return store


@pytest.fixture
def post(app, fake_twilio, run_jobs):
    """``post(form)`` delivers a Twilio webhook signed for the public URL; returns the
    answer and the messages sent back."""
    client = app.test_client()

    def deliver(form, path="/channels/twilio", token=None, signed_url=None, expect=200):
        sent_before = len(fake_twilio.messages)
        url = signed_url or PUBLIC_URL + path
        signature = twilio.sign(token or fake_twilio.auth_token, url, form)
        # The app is reached over plain http (behind the proxy), Twilio signed https.
        answer = client.post(path, data=form, headers={"X-Twilio-Signature": signature},
                             base_url="http://10.0.0.5:8000")
        assert answer.status_code == expect, answer.get_data(as_text=True)
        run_jobs()
        return answer, fake_twilio.messages[sent_before:]

    return deliver


def test_an_sms_through_twilio_is_answered_from_our_number(db, shop, post):
    answer, sent = post(twilio.inbound_sms(PHONE, OUR_SMS_NUMBER, "hello"))
    assert answer.mimetype == "text/xml"
    assert "<Message>" not in answer.get_data(as_text=True)  # the reply goes by the REST API
    [reply] = sent
    assert (reply["To"], reply["From"]) == (PHONE, OUR_SMS_NUMBER)
    assert reply["Body"].startswith("Karibu Mama Mboga Fresh!\n1. Vegetables")
    assert reply["StatusCallback"] == PUBLIC_URL + "/channels/twilio/status"


def test_a_whole_purchase_on_whatsapp_through_twilio(db, shop, post):
    def say(text):
        _, sent = post(twilio.inbound_whatsapp(PHONE, OUR_WHATSAPP_NUMBER, text))
        assert all(m["To"] == "whatsapp:" + PHONE for m in sent)
        assert all(m["From"] == "whatsapp:" + OUR_WHATSAPP_NUMBER for m in sent)
        return "\n---\n".join(sorted(m["Body"] for m in sent))

    assert say("Hi").startswith("Karibu Mama Mboga Fresh!\n\n1. Vegetables")
    assert say("1").startswith("Choose a product:\n\n1. Cabbage KSh 60")
    assert say("1").startswith("Cabbage KSh 60 each.")
    assert say("2") == ("Total KSh 120\nHow do you want your order?\n\n"
                        "1. Pick up at Kawangware shop\n2. Delivery Nairobi West KSh 100\n"
                        "3. Add more\n4. My cart\n0. Back")
    say("1")  # pick up
    # The answer, and the receipt by WhatsApp as the shopper wrote within 24 hours.
    assert say("1").startswith("Asante! Order #1001 is placed. Pay KSh 120 cash when you "
                               "collect. We will SMS you a receipt.\n---\nMama Mboga Fresh: "
                               "order #1001 received.")
    customer = find_customer_by_phone(db, shop, PHONE)
    assert customer.whatsapp_via == "twilio" and customer.whatsapp_seen_at is not None


def test_a_bad_signature_gets_403_and_changes_nothing(db, shop, post):
    form = twilio.inbound_sms(PHONE, OUR_SMS_NUMBER, "hello")
    _, sent = post(form, token="not-the-token", expect=403)
    assert sent == []
    # Signed for the URL the app sees, not the public one Twilio called: refused too.
    _, sent = post(form, signed_url="http://10.0.0.5:8000/channels/twilio", expect=403)
    assert sent == []
    assert db.scalar(select(func.count(InboundMessage.id))) == 0


def test_a_duplicate_delivery_is_answered_once(db, shop, post):
    form = twilio.inbound_sms(PHONE, OUR_SMS_NUMBER, "hello", sid="SM" + "a" * 32)
    assert len(post(form)[1]) == 1
    assert post(form)[1] == []


def test_status_callbacks_update_what_we_sent(db, shop, post):
    post(twilio.inbound_sms(PHONE, OUR_SMS_NUMBER, "hello"))
    sent = db.scalar(select(OutboundMessage))
    assert sent.provider_message_id.startswith("SM")
    answer, _ = post(twilio.status_callback(sent.provider_message_id, "undelivered", 30003),
                     path="/channels/twilio/status")
    assert answer.get_json() == {"status": "recorded"}
    db.expire_all()
    sent = db.get(OutboundMessage, sent.id)
    assert sent.status == "undelivered" and sent.error.startswith("30003")
    _, _ = post(twilio.status_callback(sent.provider_message_id, "sent"),
                path="/channels/twilio/status")
    db.expire_all()
    assert db.get(OutboundMessage, sent.id).status == "undelivered"  # late "sent" ignored


def test_a_webhook_without_a_sid_is_refused(shop, post):
    form = twilio.inbound_sms(PHONE, OUR_SMS_NUMBER, "hello")
    for name in ("MessageSid", "SmsSid", "SmsMessageSid"):
        form.pop(name)
    answer, sent = post(form, expect=400)
    assert answer.get_json()["error"]["code"] == "bad_request" and sent == []


def test_twilio_is_off_without_its_settings(make_app, store):
    app = make_app()
    answer = app.test_client().post("/channels/twilio", data={"MessageSid": "SM1"})
    assert answer.status_code == 404
