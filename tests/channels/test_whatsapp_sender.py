"""Outbound WhatsApp through heyoo, against a local fake of the Cloud API."""
from __future__ import annotations

import threading
import time

import heyoo
import pytest
import requests

from channels.messages import MessageNotSent, MessageRejected
from channels.whatsapp.render import render
from channels.whatsapp.sender import CloudApiSender
from dialogs import Choice, Reply
from tests.fakes.graph import PHONE_NUMBER_ID, FakeGraph

SHOPPER = "+254712345678"
TIMEOUT = 0.5  # to show that a Meta that hangs is given up on
# What every other test waits: the fake answers at once, but a busy CI box (four test runs on
# two cores) can stall a thread for most of a second, which a 0.5 s timeout took for an outage.
PATIENT = 10.0


@pytest.fixture(scope="module")
def graph():
    fake = FakeGraph().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake(graph):
    graph.reset()
    yield graph
    graph.reset()


@pytest.fixture
def sender(fake):
    return CloudApiSender(fake.token, fake.url, timeout=PATIENT)


def send(sender, content: dict) -> str:
    return sender.send(SHOPPER, {**content, "from": PHONE_NUMBER_ID})


def test_a_text_goes_from_our_number_to_the_shopper_and_its_id_comes_back(sender, fake):
    message_id = send(sender, {"type": "text", "body": "Karibu Mama Mboga! https://duka.test"})

    assert fake.messages == [{"phone_number_id": PHONE_NUMBER_ID, "body": {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": "254712345678",
        "type": "text", "text": {"preview_url": False,
                                 "body": "Karibu Mama Mboga! https://duka.test"}}}]
    assert message_id.startswith("wamid.")


def test_ids_are_those_meta_gave_each_message(sender, fake):
    ids = [send(sender, {"type": "text", "body": str(n)}) for n in range(3)]
    assert len(set(ids)) == 3


def test_reply_buttons_arrive_as_meta_documents_them(sender, fake):
    send(sender, {"type": "buttons", "body": "Add to cart?",
                  "buttons": [{"id": "yes", "title": "Yes"}, {"id": "no", "title": "No"}]})

    assert fake.messages[0]["body"]["interactive"] == {
        "type": "button", "body": {"text": "Add to cart?"},
        "action": {"buttons": [{"type": "reply", "reply": {"id": "yes", "title": "Yes"}},
                               {"type": "reply", "reply": {"id": "no", "title": "No"}}]}}
    assert fake.messages[0]["body"]["type"] == "interactive"


def test_a_list_arrives_as_meta_documents_it_without_empty_descriptions(sender, fake):
    send(sender, {"type": "list", "body": "Vegetables", "button": "Chagua", "rows": [
        {"id": "v:1", "title": "Tomatoes 1kg", "description": "KSh 120"},
        {"id": "v:2", "title": "Sukuma wiki", "description": ""}]})

    assert fake.messages[0]["body"] == {
        "messaging_product": "whatsapp", "to": "254712345678", "type": "interactive",
        "interactive": {"type": "list", "body": {"text": "Vegetables"}, "action": {
            "button": "Chagua", "sections": [{"rows": [
                {"id": "v:1", "title": "Tomatoes 1kg", "description": "KSh 120"},
                {"id": "v:2", "title": "Sukuma wiki"}]}]}}}


def test_a_picture_is_sent_by_its_link_with_its_caption(sender, fake):
    send(sender, {"type": "image", "link": "https://cdn.duka.test/t.jpg", "caption": "Fresh"})
    send(sender, {"type": "image", "link": "https://cdn.duka.test/t.jpg", "caption": ""})

    assert [m["body"]["image"] for m in fake.messages] == [
        {"link": "https://cdn.duka.test/t.jpg", "caption": "Fresh"},
        {"link": "https://cdn.duka.test/t.jpg", "caption": None}]  # heyoo's "no caption"


def test_a_template_carries_its_language_and_body_parameters(sender, fake):
    send(sender, {"type": "template", "name": "order_ready", "language": "sw",
                  "params": ["Wanjiku", "1042"], "body": "Wanjiku, order #1042 is ready"})

    assert fake.messages[0]["body"] == {
        "messaging_product": "whatsapp", "to": "254712345678", "type": "template",
        "template": {"name": "order_ready", "language": {"code": "sw"}, "components": [
            {"type": "body", "parameters": [{"type": "text", "text": "Wanjiku"},
                                            {"type": "text", "text": "1042"}]}]}}


def test_every_rendered_screen_is_accepted_by_the_fake_meta(sender, fake):
    # The fake refuses what Meta's documented limits refuse (error 131009).
    long = "Sukuma wiki from Kinangop, fresh every morning, by the bunch"
    for n in (1, 3, 4, 10, 11):
        reply = Reply("chagua " * 300, tuple(Choice(f"c:{i}", long) for i in range(n)),
                      image="https://cdn.duka.test/p.jpg")
        for content in render(reply):
            send(sender, content)
    assert len(fake.messages) == 10


def test_an_outage_is_worth_retrying(sender, fake):
    fake.fail_next = 1
    with pytest.raises(MessageNotSent):
        send(sender, {"type": "text", "body": "Habari"})
    assert send(sender, {"type": "text", "body": "Habari"}).startswith("wamid.")
    assert fake.attempts == 2 and len(fake.messages) == 1


def test_a_meta_that_hangs_is_given_up_on_within_the_timeout(fake):
    fake.hang_next = 1
    started = time.monotonic()
    with pytest.raises(MessageNotSent, match="did not answer"):
        send(CloudApiSender(fake.token, fake.url, timeout=TIMEOUT),
             {"type": "text", "body": "Habari"})
    assert time.monotonic() - started < TIMEOUT + 1.0 < fake.hang_seconds


def test_an_unreachable_meta_is_worth_retrying():
    with pytest.raises(MessageNotSent):
        CloudApiSender("t", "http://127.0.0.1:9/v21.0", timeout=TIMEOUT).send(
            SHOPPER, {"type": "text", "body": "x", "from": PHONE_NUMBER_ID})


def test_outside_the_24_hour_window_the_send_is_rejected_with_metas_code(sender, fake):
    fake.error_next = (400, 131047, "Re-engagement message")
    with pytest.raises(MessageRejected, match="131047") as caught:
        send(sender, {"type": "text", "body": "Habari"})
    assert caught.value.code == 131047
    assert "Re-engagement message" in str(caught.value)
    assert fake.messages == []


@pytest.mark.parametrize("status, code", [(400, 131026), (400, 100), (400, 131030)])
def test_sends_that_will_never_work_are_rejected(sender, fake, status, code):
    fake.error_next = (status, code, "refused")
    with pytest.raises(MessageRejected) as caught:
        send(sender, {"type": "text", "body": "Habari"})
    assert caught.value.code == code


@pytest.mark.parametrize("status, code", [
    (400, 130429), (400, 131056), (400, 131048), (400, 80007), (400, 4),  # throttled
    (503, 2), (500, 131000), (400, 1)])  # Meta's own trouble
def test_throttling_and_metas_trouble_are_worth_retrying(sender, fake, status, code):
    fake.error_next = (status, code, "later")
    with pytest.raises(MessageNotSent) as caught:
        send(sender, {"type": "text", "body": "Habari"})
    assert caught.value.code == code


def test_a_bad_token_is_rejected(fake):
    with pytest.raises(MessageRejected) as caught:
        CloudApiSender("expired", fake.url, timeout=PATIENT).send(
            SHOPPER, {"type": "text", "body": "x", "from": PHONE_NUMBER_ID})
    assert caught.value.code == 190


def test_a_send_without_our_number_or_of_an_unknown_kind_is_rejected(sender, fake):
    with pytest.raises(MessageRejected):
        sender.send(SHOPPER, {"type": "text", "body": "x"})
    with pytest.raises(MessageRejected):
        send(sender, {"type": "sticker", "body": "x"})
    assert fake.attempts == 0


def test_sending_leaves_heyoo_itself_untouched_for_everyone_else(sender, fake):
    # The timeout and the error handling are this sender's: heyoo's module is not patched.
    errors = []

    def worker(n):
        try:
            send(sender, {"type": "text", "body": f"#{n}"})
        except Exception as error:  # pragma: no cover - shown in the assertion
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(fake.messages) == 8
    assert heyoo.requests is requests
    assert heyoo.WhatsApp("t", "1").url == "https://graph.facebook.com/v14.0/1/messages"
