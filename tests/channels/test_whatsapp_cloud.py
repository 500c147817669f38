"""The WhatsApp Cloud API webhook: who sent it, and everything in it."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from channels.messages import DeliveryReport
from channels.whatsapp.cloud import BadWebhook, check_signature, check_verification, \
    parse_webhook
from tests.fakes.graph import PHONE_NUMBER_ID, batch, image_message, interactive_reply, \
    location_message, order_message, signed, status_update, template_button, text_message

SECRET = "app-secret-from-the-meta-dashboard"
WANJIKU, OTIENO = "254712345678", "254733000111"


# Signature ----------------------------------------------------------------------------------

def test_a_body_signed_with_the_app_secret_is_accepted():
    raw, headers = signed(SECRET, text_message(WANJIKU, "Habari, nataka sukuma wiki"))
    assert check_signature(SECRET, raw, headers["X-Hub-Signature-256"])


def test_a_body_signed_with_another_secret_or_changed_after_signing_is_refused():
    raw, headers = signed("someone-else", text_message(WANJIKU, "Habari"))
    assert not check_signature(SECRET, raw, headers["X-Hub-Signature-256"])
    raw, headers = signed(SECRET, text_message(WANJIKU, "Nataka 1"))
    assert not check_signature(SECRET, raw.replace(b"Nataka 1", b"Nataka 9"),
                               headers["X-Hub-Signature-256"])


@pytest.mark.parametrize("header", [None, "", "sha256=", "sha1=abc", "deadbeef", "sha256=zz"])
def test_a_missing_or_malformed_signature_header_is_refused(header):
    raw, _ = signed(SECRET, text_message(WANJIKU, "Habari"))
    assert not check_signature(SECRET, raw, header)


def test_no_app_secret_configured_accepts_nothing():
    raw, headers = signed("", text_message(WANJIKU, "Habari"))
    assert not check_signature("", raw, headers["X-Hub-Signature-256"])


def test_the_signature_is_over_the_raw_bytes_not_the_json_read_back():
    # Meta escapes non-ASCII; json.dumps of the parsed body writes it back differently.
    raw, headers = signed(SECRET, text_message(WANJIKU, "Ninataka chai ☕ na mandazi",
                                               name="Wanjikũ"))
    rewritten = json.dumps(json.loads(raw), ensure_ascii=False).encode()
    assert check_signature(SECRET, raw, headers["X-Hub-Signature-256"])
    assert not check_signature(SECRET, rewritten, headers["X-Hub-Signature-256"])


# Verification -------------------------------------------------------------------------------

def test_meta_subscribing_with_our_verify_token_gets_its_challenge_back():
    args = {"hub.mode": "subscribe", "hub.verify_token": "duka-verify", "hub.challenge": "1158"}
    assert check_verification(args, "duka-verify") == "1158"


@pytest.mark.parametrize("args", [
    {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1158"},
    {"hub.mode": "unsubscribe", "hub.verify_token": "duka-verify", "hub.challenge": "1158"},
    {"hub.verify_token": "duka-verify", "hub.challenge": "1158"},
    {"hub.mode": "subscribe", "hub.challenge": "1158"},
    {"hub.mode": "subscribe", "hub.verify_token": "duka-verify"},
    {},
])
def test_anything_else_gets_no_challenge(args):
    assert check_verification(args, "duka-verify") is None


def test_no_verify_token_configured_verifies_nothing():
    args = {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1158"}
    assert check_verification(args, "") is None


# Parsing ------------------------------------------------------------------------------------

def test_every_message_of_a_batch_is_read_not_only_the_first():
    delivery = batch(
        text_message(WANJIKU, "Habari", message_id="wamid.A", name="Wanjiku",
                     timestamp=1764238453),
        text_message(OTIENO, "Menu", message_id="wamid.B", name="Otieno"),
        batch(interactive_reply(WANJIKU, "cat:veg", "Vegetables", message_id="wamid.C"),
              text_message(OTIENO, "2", message_id="wamid.D", name="Otieno"),
              one_change=True),
    )
    messages, reports = parse_webhook(delivery)

    assert [(m.message_id, m.sender, m.name, m.text) for m in messages] == [
        ("wamid.A", "+" + WANJIKU, "Wanjiku", "Habari"),
        ("wamid.B", "+" + OTIENO, "Otieno", "Menu"),
        ("wamid.C", "+" + WANJIKU, "Wanjiku", "Vegetables"),
        ("wamid.D", "+" + OTIENO, "Otieno", "2"),
    ]
    assert reports == []
    first = messages[0]
    assert (first.provider, first.channel, first.to, first.kind) == (
        "whatsapp", "whatsapp", PHONE_NUMBER_ID, "text")
    assert first.received_at == datetime(2025, 11, 27, 10, 14, 13, tzinfo=timezone.utc)
    assert first.raw["text"] == {"body": "Habari"}


def test_the_number_a_message_came_to_is_the_phone_number_id_of_its_change():
    messages, _ = parse_webhook(batch(text_message(WANJIKU, "a", phone_number_id="111"),
                                      text_message(WANJIKU, "b", phone_number_id="222")))
    assert [m.to for m in messages] == ["111", "222"]


def one(payload):
    messages, reports = parse_webhook(payload)
    assert len(messages) == 1 and reports == []
    return messages[0]


def test_a_reply_button_tap_is_a_choice_by_its_id():
    tap = one(interactive_reply(WANJIKU, "add:TOMA-1KG", "Add to cart"))
    assert (tap.kind, tap.choice, tap.text) == ("choice", "add:TOMA-1KG", "Add to cart")


def test_a_list_row_pick_is_a_choice_by_its_id():
    pick = one(interactive_reply(WANJIKU, "v:17", "Sukuma wiki (bunch)", kind="list_reply",
                                 description="KSh 20.00"))
    assert (pick.kind, pick.choice, pick.text) == ("choice", "v:17", "Sukuma wiki (bunch)")


def test_a_template_quick_reply_is_a_choice_by_its_payload():
    tap = one(template_button(WANJIKU, "reorder:1042", "Order again"))
    assert (tap.kind, tap.choice, tap.text) == ("choice", "reorder:1042", "Order again")


def test_a_catalog_order_carries_its_skus_and_quantities():
    order = one(order_message(WANJIKU, [("TOMA-1KG", 2), ("SUKU-BUN", 3)], text="Leo tafadhali"))
    assert order.kind == "order"
    assert order.order_items == (("TOMA-1KG", 2), ("SUKU-BUN", 3))
    assert order.text == "Leo tafadhali"


def test_a_shared_location_carries_its_coordinates_and_name():
    place = one(location_message(WANJIKU, -1.2921, 36.8219, name="Kencom",
                                 address="Moi Avenue, Nairobi"))
    assert (place.kind, place.location, place.text) == (
        "location", (-1.2921, 36.8219), "Kencom, Moi Avenue, Nairobi")


def test_a_picture_or_anything_else_is_unsupported_not_an_error():
    photo = one(image_message(WANJIKU, caption="hii je?"))
    assert (photo.kind, photo.sender, photo.text) == ("unsupported", "+" + WANJIKU, "")
    payload = text_message(WANJIKU, "x")
    payload["entry"][0]["changes"][0]["value"]["messages"][0] = {
        "from": WANJIKU, "id": "wamid.R", "timestamp": "1764238453", "type": "reaction",
        "reaction": {"message_id": "wamid.OURS", "emoji": "👍"}}
    assert one(payload).kind == "unsupported"


def test_delivery_statuses_are_read_with_the_first_error():
    messages, reports = parse_webhook(batch(
        status_update("wamid.OUT1", "sent", WANJIKU),
        status_update("wamid.OUT1", "delivered", WANJIKU),
        status_update("wamid.OUT2", "read", OTIENO),
        status_update("wamid.OUT3", "failed", OTIENO,
                      errors=((131047, "Re-engagement message"), (1, "other"))),
        status_update("wamid.OUT4", "deleted", OTIENO),  # not a status we know: skipped
    ))
    assert messages == []
    assert reports == [
        DeliveryReport("whatsapp", "wamid.OUT1", "sent"),
        DeliveryReport("whatsapp", "wamid.OUT1", "delivered"),
        DeliveryReport("whatsapp", "wamid.OUT2", "read"),
        DeliveryReport("whatsapp", "wamid.OUT3", "failed", "131047: Re-engagement message"),
    ]


def test_a_user_known_only_by_a_business_scoped_id_has_no_number_but_their_user_id():
    messages, _ = parse_webhook(batch(
        text_message(None, "Habari", user_id="KE.13491208655302741918", name="Amina"),
        text_message(WANJIKU, "Niko", user_id="KE.99", name="Wanjiku"),
        one_change=True))
    amina, wanjiku = messages
    assert (amina.sender, amina.user_id, amina.name) == ("", "KE.13491208655302741918", "Amina")
    assert (wanjiku.sender, wanjiku.user_id, wanjiku.name) == ("+" + WANJIKU, "KE.99",
                                                               "Wanjiku")


def test_a_message_without_contacts_still_has_its_sender_from_the_from_field():
    payload = text_message(WANJIKU, "Habari")
    del payload["entry"][0]["changes"][0]["value"]["contacts"]
    message = one(payload)
    assert (message.sender, message.name, message.text) == ("+" + WANJIKU, "", "Habari")


def test_broken_parts_are_skipped_and_the_rest_is_read():
    good = text_message(WANJIKU, "still here", message_id="wamid.OK")
    broken = text_message(OTIENO, "x")
    value = broken["entry"][0]["changes"][0]["value"]
    value["messages"] = [{"type": "text"},  # no id: cannot be deduplicated
                         "not a message",
                         {"id": "wamid.T", "from": OTIENO, "type": "text", "timestamp": "soon"},
                         {"id": "wamid.L", "type": "location", "location": {"latitude": "x"}},
                         {"id": "wamid.O", "type": "order",
                          "order": {"product_items": [{"product_retailer_id": "A",
                                                       "quantity": "two"}, "junk"]}}]
    value["statuses"] = [{"status": "read"}, {"id": "wamid.S", "status": "read"}]
    delivery = {"object": "whatsapp_business_account", "entry": [
        "junk", {"id": "1"}, {"changes": "junk"},
        {"changes": [{"field": "message_template_status_update", "value": {"event": "x"}},
                     {"field": "messages"}, {"field": "messages", "value": value}]},
        *good["entry"]]}

    messages, reports = parse_webhook(delivery)
    assert [(m.message_id, m.kind) for m in messages] == [
        ("wamid.T", "text"), ("wamid.L", "unsupported"), ("wamid.O", "order"),
        ("wamid.OK", "text")]
    assert messages[0].received_at is None
    assert messages[2].order_items == ()
    assert [r.message_id for r in reports] == ["wamid.S"]


@pytest.mark.parametrize("payload", [
    {"object": "page", "entry": [{"id": "1", "messaging": [{"message": {"text": "hi"}}]}]},
    {"object": "whatsapp_business_account", "entry": []},
])
def test_a_payload_for_something_else_reads_as_nothing(payload):
    assert parse_webhook(payload) == ([], [])


@pytest.mark.parametrize("payload", [None, [], "entry", 42, {}, {"entry": "x"},
                                     {"object": "whatsapp_business_account"}])
def test_a_body_that_is_no_webhook_at_all_is_a_bad_webhook(payload):
    with pytest.raises(BadWebhook):
        parse_webhook(payload)
