"""Twilio's webhooks: signature checks over the public URL, and parsing into Incoming and
DeliveryReport. The forms come from tests/fakes/twilio.py, signed by its own implementation
of Twilio's algorithm, so the SDK validator the app uses is checked against an outside one."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from werkzeug.datastructures import MultiDict

from channels.messages import SMS, STATUS_RANK, WHATSAPP
from channels.twilio.wire import (
    BadTwilioRequest, check_signature, empty_twiml, parse_inbound, parse_status, public_url,
)
from tests.fakes.twilio import inbound_sms, inbound_whatsapp, sign, status_callback

TOKEN = "test-auth-token"
URL = "https://duka.example.com/channels/twilio"
SHOPPER, OUR_NUMBER = "+254712345678", "+15005550006"


def signed(form: dict, url: str = URL, token: str = TOKEN) -> tuple[MultiDict, str]:
    return MultiDict(form), sign(token, url, form)


# --- signatures --------------------------------------------------------------------------

def test_sign_helper_matches_twilios_published_example():
    # The worked example in Twilio's webhook-security docs.
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+12349013030", "Digits": "1234",
              "From": "+12349013030", "To": "+18005551212"}
    assert sign("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params) == \
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_genuine_request_passes():
    form, signature = signed(inbound_sms(SHOPPER, OUR_NUMBER, "MBOGA"))
    assert check_signature(TOKEN, URL, form, signature)


def test_tampered_parameter_fails():
    original = inbound_sms(SHOPPER, OUR_NUMBER, "MBOGA")
    signature = sign(TOKEN, URL, original)
    forged = MultiDict({**original, "From": "+254700000001"})
    assert not check_signature(TOKEN, URL, forged, signature)


def test_added_parameter_fails():
    original = inbound_sms(SHOPPER, OUR_NUMBER, "MBOGA")
    signature = sign(TOKEN, URL, original)
    assert not check_signature(TOKEN, URL, MultiDict({**original, "Extra": "1"}), signature)


def test_wrong_token_fails():
    form, signature = signed(inbound_sms(SHOPPER, OUR_NUMBER, "MBOGA"), token="someone-else")
    assert not check_signature(TOKEN, URL, form, signature)


@pytest.mark.parametrize("header", [None, ""])
def test_missing_signature_fails(header):
    form, _ = signed(inbound_sms(SHOPPER, OUR_NUMBER, "MBOGA"))
    assert not check_signature(TOKEN, URL, form, header)


def test_no_auth_token_configured_never_passes():
    form, signature = signed(inbound_sms(SHOPPER, OUR_NUMBER, "MBOGA"), token="")
    assert not check_signature("", URL, form, signature)


def test_query_string_is_part_of_what_twilio_signs():
    url = URL + "?store=45&lang=sw"
    form, signature = signed(inbound_sms(SHOPPER, OUR_NUMBER, "MBOGA"), url=url)
    assert check_signature(TOKEN, url, form, signature)
    assert not check_signature(TOKEN, URL, form, signature)  # query dropped
    assert check_signature(TOKEN, public_url("https://duka.example.com",
                                             "/channels/twilio?store=45&lang=sw"),
                           form, signature)


def test_behind_a_proxy_the_request_url_fails_and_public_url_fixes_it():
    form, signature = signed(inbound_whatsapp(SHOPPER, OUR_NUMBER, "1"))
    # What Flask sees behind a TLS-terminating proxy, and its request.full_path.
    request_url = "http://duka.example.com/channels/twilio"
    assert not check_signature(TOKEN, request_url, form, signature)
    rebuilt = public_url("https://duka.example.com/", "/channels/twilio?")
    assert rebuilt == URL
    assert check_signature(TOKEN, rebuilt, form, signature)


def test_repeated_fields_are_all_signed():
    params = {**inbound_sms(SHOPPER, OUR_NUMBER, "hi"), "Tag": ["b", "a"]}
    form = MultiDict([(k, v) for k, vs in params.items()
                      for v in (vs if isinstance(vs, list) else [vs])])
    signature = sign(TOKEN, URL, params)
    assert check_signature(TOKEN, URL, form, signature)
    assert not check_signature(TOKEN, URL, form.to_dict(), signature)  # second value lost


@pytest.mark.parametrize("base, full_path, expected", [
    ("https://duka.example.com", "/channels/twilio?", URL),
    ("https://duka.example.com/", "/channels/twilio", URL),
    ("https://duka.example.com//", "channels/twilio?", URL),
    ("https://duka.example.com/shop", "/channels/twilio/status?",
     "https://duka.example.com/shop/channels/twilio/status"),
    ("https://duka.example.com", "/channels/twilio?a=1&b=2", URL + "?a=1&b=2"),
])
def test_public_url(base, full_path, expected):
    assert public_url(base, full_path) == expected


# --- inbound messages --------------------------------------------------------------------

def test_sms():
    form = inbound_sms(SHOPPER, OUR_NUMBER, "MBOGA", sid="SM" + "a" * 32)
    message = parse_inbound(MultiDict(form))
    assert (message.provider, message.channel, message.kind) == ("twilio", SMS, "text")
    assert message.message_id == "SM" + "a" * 32
    assert (message.sender, message.to, message.text) == (SHOPPER, OUR_NUMBER, "MBOGA")
    assert message.raw["Body"] == "MBOGA"


def test_whatsapp_addresses_lose_their_prefix():
    form = inbound_whatsapp(SHOPPER, OUR_NUMBER, "Habari", profile_name="Wanjiku")
    assert form["From"] == "whatsapp:" + SHOPPER
    message = parse_inbound(form)
    assert message.channel == WHATSAPP
    assert (message.sender, message.to) == (SHOPPER, OUR_NUMBER)
    assert (message.kind, message.text, message.name) == ("text", "Habari", "Wanjiku")


def test_button_tap_is_a_choice():
    form = inbound_whatsapp(SHOPPER, OUR_NUMBER, "Pay now", button_payload="pay:1042")
    message = parse_inbound(form)
    assert (message.kind, message.choice, message.text) == ("choice", "pay:1042", "Pay now")


def test_location():
    form = {**inbound_whatsapp(SHOPPER, OUR_NUMBER, ""),
            "Latitude": "-1.2921", "Longitude": "36.8219", "Address": "Nairobi"}
    message = parse_inbound(form)
    assert message.kind == "location"
    assert message.location == (-1.2921, 36.8219)


def test_bad_location_is_rejected_clearly():
    form = {**inbound_whatsapp(SHOPPER, OUR_NUMBER, ""), "Latitude": "x", "Longitude": "1"}
    with pytest.raises(BadTwilioRequest, match="location"):
        parse_inbound(form)


def test_media_without_text_is_unsupported():
    form = {**inbound_whatsapp(SHOPPER, OUR_NUMBER, ""), "NumMedia": "1",
            "MediaUrl0": "https://api.twilio.com/media/ME1", "MediaContentType0": "image/jpeg"}
    assert parse_inbound(form).kind == "unsupported"


def test_media_with_a_caption_is_text():
    form = {**inbound_whatsapp(SHOPPER, OUR_NUMBER, "2 of these"), "NumMedia": "1",
            "MediaUrl0": "https://api.twilio.com/media/ME1"}
    message = parse_inbound(form)
    assert (message.kind, message.text) == ("text", "2 of these")


def test_sms_sid_is_the_fallback_id():
    form = inbound_sms(SHOPPER, OUR_NUMBER, "hi", sid="SM" + "b" * 32)
    del form["MessageSid"]
    assert parse_inbound(form).message_id == "SM" + "b" * 32


@pytest.mark.parametrize("missing, words", [
    (("MessageSid", "SmsSid", "SmsMessageSid"), "MessageSid"),
    (("From",), "From"),
])
def test_missing_fields_are_rejected_clearly(missing, words):
    form = inbound_sms(SHOPPER, OUR_NUMBER, "hi")
    for name in missing:
        del form[name]
    with pytest.raises(BadTwilioRequest, match=words):
        parse_inbound(form)


# --- status callbacks --------------------------------------------------------------------

@pytest.mark.parametrize("twilio_status, ours", [
    ("queued", "queued"), ("accepted", "queued"), ("scheduled", "queued"),
    ("sending", "queued"), ("sent", "sent"), ("delivered", "delivered"), ("read", "read"),
    ("undelivered", "undelivered"), ("failed", "failed"), ("canceled", "failed"),
])
def test_status_mapping(twilio_status, ours):
    report = parse_status(MultiDict(status_callback("SM" + "c" * 32, twilio_status)))
    assert (report.provider, report.message_id, report.status) == \
        ("twilio", "SM" + "c" * 32, ours)
    assert ours in STATUS_RANK
    assert report.error == ""


def test_failure_carries_the_error():
    form = {**status_callback("SM1", "undelivered", error_code=30008),
            "ErrorMessage": "Unknown error"}
    assert parse_status(form).error == "30008: Unknown error"
    assert parse_status(status_callback("SM1", "failed", error_code=63016)).error == "63016"


@pytest.mark.parametrize("missing, words", [
    (("MessageStatus",), "MessageStatus"),
    (("MessageSid", "SmsSid"), "MessageSid"),
])
def test_status_without_required_fields_is_rejected(missing, words):
    form = status_callback("SM1", "delivered")
    for name in missing:
        del form[name]
    with pytest.raises(BadTwilioRequest, match=words):
        parse_status(form)


def test_inbound_status_is_not_a_delivery_report():
    with pytest.raises(BadTwilioRequest, match="received"):
        parse_status(status_callback("SM1", "received"))


def test_empty_twiml_says_nothing():
    root = ET.fromstring(empty_twiml())
    assert root.tag == "Response" and len(root) == 0
