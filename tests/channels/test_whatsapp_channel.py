"""Shopping on WhatsApp through the Cloud API: signed webhooks in, replies sent with the real
heyoo client to a local fake of the Graph API, statuses applied."""
import pytest
from sqlalchemy import func, select

from channels.models import InboundMessage, OutboundMessage
from commerce.customers import find_customer_by_phone
from commerce.demo import link_demo_whatsapp
from commerce.models import Cart, Order, ProductImage
from tests.channels.conftest import WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN
from tests.fakes import graph
from tests.helpers import variant_by_sku

WA_ID = "254712345678"
PHONE = "+" + WA_ID


@pytest.fixture
def app(make_app, messaging_settings):
    return make_app(**messaging_settings)


@pytest.fixture
def shop(db, store):
    link_demo_whatsapp(db, store, graph.PHONE_NUMBER_ID)
    return store


@pytest.fixture
def whatsapp(app, fake_graph, run_jobs):
    """``whatsapp(payload)`` delivers a signed webhook and returns the messages sent back."""
    client = app.test_client()

    def deliver(payload, secret=WHATSAPP_APP_SECRET, expect=200):
        sent_before = len(fake_graph.messages)
        raw, headers = graph.signed(secret, payload)
        answer = client.post("/channels/whatsapp", data=raw, headers=headers)
        assert answer.status_code == expect, answer.get_data(as_text=True)
        run_jobs()
        return [m["body"] for m in fake_graph.messages[sent_before:]]

    return deliver


def options(message: dict) -> dict[str, str]:
    """Label -> id of the buttons or list rows of an interactive message (a row too long for
    its title shows the whole label as its description)."""
    action = message["interactive"]["action"]
    if "buttons" in action:
        return {b["reply"]["title"]: b["reply"]["id"] for b in action["buttons"]}
    return {row.get("description") or row["title"]: row["id"]
            for section in action["sections"] for row in section["rows"]}


def tap(message: dict, label: str) -> dict:
    kind = "button_reply" if "buttons" in message["interactive"]["action"] else "list_reply"
    return graph.interactive_reply(WA_ID, options(message)[label], label[:24], kind=kind)


def test_the_webhook_verification_handshake(app):
    client = app.test_client()
    good = client.get("/channels/whatsapp", query_string={
        "hub.mode": "subscribe", "hub.verify_token": WHATSAPP_VERIFY_TOKEN,
        "hub.challenge": "1158201444"})
    assert (good.status_code, good.get_data(as_text=True)) == (200, "1158201444")
    bad = client.get("/channels/whatsapp", query_string={
        "hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"})
    assert bad.status_code == 403


def test_a_whole_purchase_on_whatsapp(db, shop, whatsapp):
    [home] = whatsapp(graph.text_message(WA_ID, "Hi"))
    assert home["to"] == WA_ID and home["type"] == "interactive"
    assert home["interactive"]["type"] == "list"
    assert home["interactive"]["body"]["text"].startswith("Karibu Mama Mboga Fresh!")
    assert list(options(home))[:2] == ["Vegetables", "Fruits"]

    [products] = whatsapp(tap(home, "Vegetables"))
    assert "Cabbage KSh 60" in options(products)
    [quantity] = whatsapp(tap(products, "Cabbage KSh 60"))
    assert quantity["text"]["body"] == "Cabbage KSh 60 each.\nHow many? (1-40)\n\n0. Back"

    [how] = whatsapp(graph.text_message(WA_ID, "2"))
    assert how["interactive"]["type"] == "list"
    assert how["interactive"]["body"]["text"] == ("Total KSh 120\n"
                                                  "How do you want your order?\n\n0 = Back")
    assert list(options(how)) == ["Pick up at Kawangware shop", "Delivery Nairobi West KSh 100",
                                  "Add more", "My cart"]
    [pay] = whatsapp(tap(how, "Pick up at Kawangware shop"))
    texts = sorted(m["text"]["body"] for m in whatsapp(tap(pay, "Pay cash at pickup")))
    # The answer, and the receipt: on WhatsApp too, as the shopper wrote within 24 hours.
    assert texts[0].startswith("Asante! Order #1001 is placed.")
    assert texts[1].startswith("Mama Mboga Fresh: order #1001 received. 2x Cabbage.")

    order = db.scalar(select(Order))
    assert (order.number, order.total, order.customer.phone) == (1001, 12000, PHONE)


def test_back_from_a_product_on_page_two_of_a_long_list_sends_page_two(shop, big_aisle,
                                                                       whatsapp):
    whatsapp(graph.text_message(WA_ID, "Hi"))
    whatsapp(graph.text_message(WA_ID, "1"))  # 33 products: numbered text, 10 a page
    [page_two] = whatsapp(graph.text_message(WA_ID, "98"))
    assert page_two["text"]["body"].startswith("11. ")
    whatsapp(graph.text_message(WA_ID, "12"))
    assert whatsapp(graph.text_message(WA_ID, "0")) == [page_two]  # as on USSD; was page 1


def test_a_product_picture_is_shown_before_its_question(db, shop, whatsapp):
    cabbage = variant_by_sku(db, shop, "CABB")
    db.add(ProductImage(store_id=shop.id, product_id=cabbage.product_id,
                        url="https://cdn.example.com/cabbage.jpg"))
    db.commit()
    [home] = whatsapp(graph.text_message(WA_ID, "Hi"))
    [products] = whatsapp(tap(home, "Vegetables"))
    picture, question = whatsapp(tap(products, "Cabbage KSh 60"))
    assert picture["type"] == "image"
    assert picture["image"]["link"] == "https://cdn.example.com/cabbage.jpg"
    assert question["text"]["body"].startswith("Cabbage KSh 60 each.")


def test_a_batch_with_two_messages_answers_each_sender(db, shop, whatsapp):
    sent = whatsapp(graph.batch(graph.text_message(WA_ID, "Hi", name="Wanjiku"),
                                graph.text_message("254722000111", "Habari", name="Otieno"),
                                one_change=True))
    assert sorted(message["to"] for message in sent) == ["254712345678", "254722000111"]
    assert find_customer_by_phone(db, shop, "+254722000111").name == "Otieno"


def test_a_duplicate_delivery_is_answered_once(db, shop, whatsapp):
    payload = graph.text_message(WA_ID, "Hi", message_id="wamid.SAME")
    assert len(whatsapp(payload)) == 1
    assert whatsapp(payload) == []
    assert db.scalar(select(func.count(InboundMessage.id))) == 1


def test_a_bad_signature_gets_403_and_changes_nothing(db, shop, whatsapp):
    assert whatsapp(graph.text_message(WA_ID, "Hi"), secret="not-the-secret", expect=403) == []
    assert db.scalar(select(func.count(InboundMessage.id))) == 0
    assert find_customer_by_phone(db, shop, PHONE) is None


def test_unsigned_or_foreign_bodies_are_refused(app, shop):
    client = app.test_client()
    assert client.post("/channels/whatsapp", json=graph.text_message(WA_ID, "Hi")).status_code \
        == 403
    raw, headers = graph.signed(WHATSAPP_APP_SECRET, {"hello": "world"})
    answer = client.post("/channels/whatsapp", data=raw, headers=headers)
    assert answer.status_code == 400 and answer.get_json()["error"]["code"] == "bad_request"


def test_a_photo_gets_a_polite_answer_and_the_same_screen(shop, whatsapp):
    whatsapp(graph.text_message(WA_ID, "Hi"))
    [again] = whatsapp(graph.image_message(WA_ID, caption="this one"))
    assert again["interactive"]["body"]["text"].startswith(
        "Sorry, I can only read text, buttons and locations.\nKaribu")


def test_a_catalog_order_fills_the_cart(db, shop, whatsapp):
    [cart] = whatsapp(graph.order_message(WA_ID, [("TOMA-1KG", 2), ("ONIO-1KG", 1)]))
    assert cart["interactive"]["body"]["text"].startswith(
        "2x Tomatoes 1kg KSh 240\n1x Onions 1kg KSh 100\nTotal KSh 340")


def test_one_cart_across_ussd_and_whatsapp(app, shop, whatsapp):
    client = app.test_client()
    for text in ["", "1", "1*1", "1*1*3"]:  # 3 cabbages on USSD
        client.post("/channels/ussd/africastalking", data={
            "sessionId": "u1", "serviceCode": "*384*123#", "phoneNumber": PHONE,
            "networkCode": "63902", "text": text})
    [cart] = whatsapp(graph.text_message(WA_ID, "cart"))
    assert cart["interactive"]["body"]["text"].startswith("3x Cabbage KSh 180")


def test_the_24_hour_window_opens_with_each_message(db, shop, whatsapp):
    whatsapp(graph.text_message(WA_ID, "Hi", timestamp=1_795_000_000))
    customer = find_customer_by_phone(db, shop, PHONE)
    assert customer.whatsapp_via == "whatsapp"
    assert int(customer.whatsapp_seen_at.timestamp()) == 1_795_000_000


def test_statuses_update_what_we_sent(db, shop, whatsapp):
    whatsapp(graph.text_message(WA_ID, "Hi"))
    sent = db.scalar(select(OutboundMessage))
    assert sent.status == "sent" and sent.provider_message_id.startswith("wamid.")
    whatsapp(graph.batch(graph.status_update(sent.provider_message_id, "read", WA_ID),
                         graph.status_update(sent.provider_message_id, "delivered", WA_ID)))
    db.expire_all()
    assert db.get(OutboundMessage, sent.id).status == "read"  # "delivered" came late


def test_a_user_known_only_by_user_id_is_the_same_customer(db, shop, whatsapp):
    whatsapp(graph.text_message(WA_ID, "Hi", user_id="KE.1234567890"))
    sent = whatsapp(graph.text_message(None, "cart", user_id="KE.1234567890"))
    assert len(sent) == 1
    assert db.scalar(select(func.count(InboundMessage.id))) == 2
    assert whatsapp(graph.text_message(None, "Hi", user_id="KE.unknown")) == []


def test_a_reply_that_fails_twice_is_sent_on_the_third_try(db, shop, whatsapp, fake_graph):
    fake_graph.fail_next = 2
    assert len(whatsapp(graph.text_message(WA_ID, "Hi"))) == 1
    sent = db.scalar(select(OutboundMessage))
    assert (sent.status, sent.attempts) == ("sent", 3)


def test_a_shared_location_is_taken_as_the_delivery_address(db, shop, whatsapp):
    [home] = whatsapp(graph.text_message(WA_ID, "Hi"))
    [products] = whatsapp(tap(home, "Vegetables"))
    whatsapp(tap(products, "Cabbage KSh 60"))
    [how] = whatsapp(graph.text_message(WA_ID, "2"))
    whatsapp(tap(how, next(label for label in options(how) if label.startswith("Delivery"))))
    [summary] = whatsapp(graph.location_message(WA_ID, -1.28333, 36.81667))  # a bare pin
    assert summary["interactive"]["body"]["text"].startswith("Total KSh 220")
    assert db.scalar(select(Cart.address_text)) == "(-1.28333,36.81667)"
