"""TwilioSender drives the real twilio SDK against FakeTwilio: the form Twilio receives, the
SID we keep, and which failures are worth retrying (MessageNotSent) and which never will
work (MessageRejected)."""
from __future__ import annotations

import json
import socket
import time

import pytest

from channels.messages import MessageNotSent, MessageRejected
from channels.twilio.client import TwilioSender
from tests.fakes.twilio import FakeTwilio

SHOPPER = "+254712345678"
SMS_NUMBER, WHATSAPP_NUMBER = "+15005550006", "whatsapp:+14155238886"
TIMEOUT = 0.5  # to show that a Twilio that hangs is given up on
# What every other test waits: the fake answers at once, but a busy CI box (four test runs on
# two cores) can stall a thread for most of a second, which a 0.5 s timeout took for an outage.
PATIENT = 10.0


@pytest.fixture(scope="module")
def server():
    fake = FakeTwilio().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake(server):
    server.reset()
    return server


@pytest.fixture
def sender(fake):
    return TwilioSender(fake.account_sid, fake.auth_token, api_url=fake.url, timeout=PATIENT)


def test_text_sms(fake, sender):
    sid = sender.send(SHOPPER, {"type": "text", "body": "Asante! Order #1042",
                                "from": SMS_NUMBER})
    [sent] = fake.messages
    assert sid == sent["sid"] and sid.startswith("SM") and len(sid) == 34
    assert (sent["To"], sent["From"], sent["Body"]) == (SHOPPER, SMS_NUMBER,
                                                         "Asante! Order #1042")
    assert "StatusCallback" not in sent


def test_whatsapp_recipient_gets_the_prefix(fake, sender):
    sender.send(SHOPPER, {"type": "text", "body": "Karibu", "from": WHATSAPP_NUMBER})
    [sent] = fake.messages
    assert (sent["To"], sent["From"]) == ("whatsapp:" + SHOPPER, WHATSAPP_NUMBER)


def test_image_sends_caption_and_media_url(fake, sender):
    sid = sender.send(SHOPPER, {"type": "image", "link": "https://cdn.example.com/sukuma.jpg",
                                "caption": "Sukuma wiki, KES 30", "from": WHATSAPP_NUMBER})
    [sent] = fake.messages
    assert sent["MediaUrl"] == ["https://cdn.example.com/sukuma.jpg"]
    assert sent["Body"] == "Sukuma wiki, KES 30"
    assert sid.startswith("MM")


def test_template_goes_by_content_sid(fake, sender):
    sender.send(SHOPPER, {"type": "template", "name": "HX" + "1" * 32, "language": "en",
                          "params": ["Wanjiku", "KES 350.00"],
                          "body": "Hi Wanjiku, your order of KES 350.00 is ready",
                          "from": WHATSAPP_NUMBER})
    [sent] = fake.messages
    assert sent["ContentSid"] == "HX" + "1" * 32
    assert json.loads(sent["ContentVariables"]) == {"1": "Wanjiku", "2": "KES 350.00"}
    assert "Body" not in sent  # a Body outside the 24 h window fails with 63016


@pytest.mark.parametrize("content", [
    {"type": "buttons", "body": "Pay how?",
     "buttons": [{"id": "mpesa", "title": "M-Pesa"}, {"id": "cash", "title": "Cash"}]},
    {"type": "list", "body": "Pay how?", "button": "Choose",
     "rows": [{"id": "mpesa", "title": "M-Pesa", "description": "STK push"},
              {"id": "cash", "title": "Cash", "description": "On delivery"}]},
])
def test_buttons_and_lists_become_numbered_text(fake, sender, content):
    sender.send(SHOPPER, {**content, "from": WHATSAPP_NUMBER})
    assert fake.messages[0]["Body"] == "Pay how?\n1. M-Pesa\n2. Cash"


def test_status_callback_is_requested(fake):
    callback = "https://duka.example.com/channels/twilio/status"
    sender = TwilioSender(fake.account_sid, fake.auth_token, api_url=fake.url,
                          timeout=PATIENT, status_callback=callback)
    sender.send(SHOPPER, {"type": "text", "body": "hi", "from": SMS_NUMBER})
    assert fake.messages[0]["StatusCallback"] == callback


def test_twilio_region_in_the_environment_does_not_bypass_the_api_url(fake, monkeypatch):
    monkeypatch.setenv("TWILIO_REGION", "ie1")
    monkeypatch.setenv("TWILIO_EDGE", "dublin")
    sender = TwilioSender(fake.account_sid, fake.auth_token, api_url=fake.url, timeout=PATIENT)
    sender.send(SHOPPER, {"type": "text", "body": "hi", "from": SMS_NUMBER})
    assert len(fake.messages) == 1


def test_server_error_is_worth_retrying(fake, sender):
    fake.fail_next = 1
    with pytest.raises(MessageNotSent):
        sender.send(SHOPPER, {"type": "text", "body": "hi", "from": SMS_NUMBER})
    assert fake.messages == []
    sender.send(SHOPPER, {"type": "text", "body": "hi", "from": SMS_NUMBER})  # retry works
    assert len(fake.messages) == 1


def test_rate_limit_is_worth_retrying(fake, sender):
    fake.error_next = (429, 20429, "Too Many Requests")
    with pytest.raises(MessageNotSent, match="20429"):
        sender.send(SHOPPER, {"type": "text", "body": "hi", "from": SMS_NUMBER})


def test_hanging_twilio_gives_up_within_the_timeout(fake):
    sender = TwilioSender(fake.account_sid, fake.auth_token, api_url=fake.url, timeout=TIMEOUT)
    fake.hang_next = 1
    started = time.monotonic()
    with pytest.raises(MessageNotSent):
        sender.send(SHOPPER, {"type": "text", "body": "hi", "from": SMS_NUMBER})
    assert time.monotonic() - started < fake.hang_seconds - 1
    assert fake.messages == []


def test_unreachable_twilio_is_worth_retrying():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sender = TwilioSender("AC" + "0" * 32, "token", api_url=f"http://127.0.0.1:{port}",
                          timeout=PATIENT)
    with pytest.raises(MessageNotSent):
        sender.send(SHOPPER, {"type": "text", "body": "hi", "from": SMS_NUMBER})


@pytest.mark.parametrize("code, message", [
    (21211, "The 'To' number +2547 is not a valid phone number."),
    (21610, "Attempt to send to unsubscribed recipient"),
    (63016, "Failed to send freeform message because you are outside the allowed window."),
])
def test_permanent_refusals_carry_twilios_code(fake, sender, code, message):
    fake.error_next = (400, code, message)
    with pytest.raises(MessageRejected) as refused:
        sender.send(SHOPPER, {"type": "text", "body": "hi", "from": SMS_NUMBER})
    assert refused.value.code == code
    assert str(code) in str(refused.value) and message in str(refused.value)


def test_wrong_credentials_are_refused(fake):
    sender = TwilioSender(fake.account_sid, "wrong-token", api_url=fake.url, timeout=PATIENT)
    with pytest.raises(MessageRejected) as refused:
        sender.send(SHOPPER, {"type": "text", "body": "hi", "from": SMS_NUMBER})
    assert refused.value.code == 20003
    assert fake.messages == []


def test_missing_from_is_refused_without_calling_twilio(fake, sender):
    with pytest.raises(MessageRejected, match="from"):
        sender.send(SHOPPER, {"type": "text", "body": "hi"})
    assert fake.attempts == 0
