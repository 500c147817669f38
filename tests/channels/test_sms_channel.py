"""Shopping by SMS through Africa's Talking: inbound callbacks, text commands, replies sent with
the real africastalking SDK to a local fake of AT's API, and delivery reports."""
import itertools

import pytest
from sqlalchemy import func, select

from channels import sms_render
from channels.models import InboundMessage, OutboundMessage
from commerce.customers import find_customer_by_phone
from commerce.models import Order
from dialogs import Choice, Reply
from tests.channels.conftest import AT_CALLBACK_TOKEN

INBOUND = f"/channels/sms/africastalking?token={AT_CALLBACK_TOKEN}"
DELIVERY = f"/channels/sms/africastalking/delivery?token={AT_CALLBACK_TOKEN}"
PHONE = "+254712345678"
SHORT_CODE = "22384"
_ids = itertools.count(1)


@pytest.fixture
def texting(app, fake_at, run_jobs):
    """``text("MBOGA")`` sends an SMS as AT would and returns the replies it got, in order."""
    client = app.test_client()

    def text(body, phone=PHONE, to=SHORT_CODE, message_id=None, expect=200):
        sent_before = len(fake_at.messages)
        answer = client.post(INBOUND, data={
            "from": phone, "to": to, "text": body, "id": message_id or f"ATXid_{next(_ids)}",
            "date": "2026-11-26 10:00:00", "networkCode": "63902", "linkId": ""})
        assert answer.status_code == expect, answer.get_data(as_text=True)
        run_jobs()
        return [m["message"] for m in fake_at.messages[sent_before:]
                if m.get("from") == to and m["to"] == phone]

    return text


def test_a_whole_purchase_by_sms_ends_with_an_order_and_a_receipt(db, store, texting, fake_at):
    assert texting("mboga")[0].startswith("Karibu Mama Mboga Fresh!\n1. Vegetables")
    assert texting("1")[0].startswith("Choose a product:\n1. Cabbage KSh 60")
    assert texting("1")[0] == "Cabbage KSh 60 each.\nHow many? (1-40)\n0. Back"
    assert texting("2") == ["Total KSh 120\nHow do you want your order?\n"
                            "1. Pick up at Kawangware shop\n2. Delivery Nairobi West KSh 100\n"
                            "3. Add more\n4. My cart\n0. Back"]
    assert texting("1")[0].startswith("Total KSh 120\n1. Pay cash at pickup")
    assert texting("1") == ["Asante! Order #1001 is placed. Pay KSh 120 cash when you "
                            "collect. We will SMS you a receipt."]

    order = db.scalar(select(Order))
    assert (order.number, order.total) == (1001, 12000)
    receipts = [m for m in fake_at.messages if "received" in m["message"]]
    assert receipts and receipts[0]["to"] == PHONE


def test_back_from_a_product_on_page_two_of_a_list_sends_page_two(store, big_aisle, texting):
    texting("mboga")
    texting("1")  # Vegetables, page 1
    [page_two] = texting("98")
    picked = page_two.split("\n")[1].split(". ")[0]  # the second product listed there
    assert texting(picked)[0].endswith("How many? (1-10)\n0. Back")
    assert texting("0") == [page_two]  # as on USSD; it was page 1


def test_every_reply_of_a_purchase_fits_two_sms_parts(db, store, texting):
    replies = [texting(body)[0] for body in ("MBOGA", "1", "8", "1", "2", "2",
                                             "Kawangware stage 56, blue gate", "1")]
    assert replies[-1].startswith("Asante! Order #1001 is placed."), replies
    assert all(sms_render.parts(reply, "gsm7") <= 2 for reply in replies), replies


def test_a_long_list_pages_with_98_and_keeps_its_numbers():
    reply = Reply("Choose a product:", tuple(Choice(f"p:{n}", f"Product number {n} in the list")
                                             for n in range(1, 31)))
    pages = [sms_render.render(reply, page)[0]["body"]
             for page in range(sms_render.page_count(reply))]
    assert len(pages) == 4
    assert pages[0].startswith("Choose a product:\n1. Product number 1 in the list")
    assert pages[0].endswith("98. More\n0. Back")
    assert pages[1].split("\n")[0].startswith(str(pages[0].count("Product") + 1) + ". ")
    assert all(sms_render.parts(page, "gsm7") <= 2 for page in pages)


def test_ucs2_only_for_a_language_gsm7_cannot_write():
    reply = Reply("Fête à Nairobi", (Choice("a", "Thé"),))  # ê is not GSM-7; é and à are
    assert sms_render.render(reply, locale="fr")[0]["body"] == "Fete à Nairobi\n1. Thé\n0. Back"
    amharic = Reply("እንኳን ደህና መጡ", tuple(Choice(str(n), "ቲማቲም") for n in range(40)))
    pages = [sms_render.render(amharic, n, locale="am")[0]["body"]
             for n in range(sms_render.page_count(amharic, locale="am"))]
    assert pages[0].startswith("እንኳን ደህና መጡ")
    assert all(sms_render.parts(page, "ucs2") <= 2 for page in pages)


def test_a_message_delivered_twice_is_answered_once(db, store, texting):
    assert len(texting("MBOGA", message_id="ATXid_dup")) == 1
    assert texting("MBOGA", message_id="ATXid_dup") == []
    assert db.scalar(select(func.count(InboundMessage.id))) == 1


def test_search_order_cart_and_status_commands(db, store, texting):
    assert texting("MBOGA SEARCH tomatos")[0].startswith("Found:\n1. Tomatoes")
    cart = texting("ORDER toma-1kg 2")[0]
    assert cart.startswith("2x Tomatoes 1kg KSh 240\nTotal KSh 240")
    assert texting("CART")[0] == cart
    assert texting("ORDER NOPE-1 2")[0].startswith("No product has the code NOPE-1.\nKaribu")
    assert texting("ORDER TOMA-1KG 500")[0].startswith("Please send a quantity from 1 to 99.")
    assert texting("STATUS 1001")[0].startswith("You have no order #1001.")

    texting("CART")
    for choice in ("1", "1", "1"):  # checkout, pick up, pay cash
        texting(choice)
    assert texting("STATUS 1001")[0].startswith("#1001 Awaiting payment\n2x Tomatoes 1kg")


def test_lang_changes_the_language_and_it_is_remembered(db, store, texting):
    assert "\n6. Tafuta\n7. Kikapu changu" in texting("MBOGA LANG sw")[0]
    assert "\n6. Tafuta\n7. Kikapu changu" in texting("MENU")[0]
    customer = find_customer_by_phone(db, store, PHONE)
    assert customer.locale == "sw"


def test_keywords_work_in_the_stores_other_language(db, store, texting):
    assert texting("MBOGA TAFUTA tomatos")[0].startswith("Found:\n1. Tomatoes")
    assert texting("MSAADA")[0].startswith("Send MENU to shop")


def test_pay_offers_payment_for_the_latest_unpaid_order_or_the_cart(db, store, texting):
    assert texting("MBOGA PAY")[0].startswith("You have nothing to pay.")
    texting("ORDER TOMA-1KG 1")
    assert texting("PAY")[0].startswith("How do you want your order?")


def test_stop_opts_out_at_once_and_start_opts_back_in(db, store, texting):
    texting("MBOGA")
    assert texting("STOP") == ["You will get no more messages from Mama Mboga Fresh. Send "
                               "START to get them again."]
    db.expire_all()
    assert find_customer_by_phone(db, store, PHONE).opted_out_at is not None
    assert texting("START")[0].startswith("Welcome back!")
    db.expire_all()
    assert find_customer_by_phone(db, store, PHONE).opted_out_at is None


def test_one_cart_across_ussd_and_sms(app, db, store, texting):
    client = app.test_client()
    for text in ["", "1", "1*1", "1*1*3"]:  # 3 cabbages on USSD
        client.post("/channels/ussd/africastalking", data={
            "sessionId": "u1", "serviceCode": "*384*123#", "phoneNumber": PHONE,
            "networkCode": "63902", "text": text})
    assert texting("MBOGA CART")[0].startswith("3x Cabbage KSh 180")


def test_without_a_keyword_the_store_is_the_one_the_phone_last_wrote_to(store, texting):
    assert texting("hello")[0].startswith("Sorry, we could not tell which shop")
    texting("MBOGA")
    assert texting("1")[0].startswith("Choose a product:")


def test_bad_callbacks_get_400_and_change_nothing(app, db, store):
    client = app.test_client()
    answer = client.post(INBOUND, data={"to": SHORT_CODE, "text": "hi"})
    assert answer.status_code == 400
    assert answer.get_json()["error"]["message"] == "Missing fields: from, id."
    assert db.scalar(select(func.count(InboundMessage.id))) == 0


def test_the_callback_token_is_required_when_set(make_app, fake_at):
    app = make_app(AT_CALLBACK_TOKEN="s3cret")
    client = app.test_client()
    form = {"from": PHONE, "to": SHORT_CODE, "text": "MBOGA", "id": "ATXid_t1"}
    assert client.post("/channels/sms/africastalking", data=form).status_code == 403
    assert client.post("/channels/sms/africastalking?token=wrong", data=form).status_code == 403
    ok = client.post("/channels/sms/africastalking?token=s3cret", data=form)
    assert ok.status_code == 200


def test_delivery_reports_move_a_message_forward_only(db, store, texting, app):
    texting("MBOGA")
    message = db.scalar(select(OutboundMessage).where(OutboundMessage.purpose == "reply"))
    assert message.status == "sent" and message.provider_message_id.startswith("ATXid_")
    client = app.test_client()

    def report(status, **extra):
        return client.post(DELIVERY, data={
            "id": message.provider_message_id, "status": status, "phoneNumber": PHONE,
            "networkCode": "63902", **extra})

    assert report("Success").get_json() == {"status": "recorded"}
    assert report("Buffered").get_json() == {"status": "recorded"}  # late and out of order
    db.expire_all()
    assert db.get(OutboundMessage, message.id).status == "delivered"
    unknown = client.post(DELIVERY,
                          data={"id": "ATXid_nope", "status": "Success"})
    assert unknown.get_json() == {"status": "ignored"}
    assert client.post(DELIVERY,
                       data={"status": "Success"}).status_code == 400


def test_a_reply_that_fails_twice_is_sent_on_the_third_try(db, store, texting, fake_at):
    fake_at.fail_next = 2
    assert texting("MBOGA")[0].startswith("Karibu")
    message = db.scalar(select(OutboundMessage).where(OutboundMessage.purpose == "reply"))
    assert (message.status, message.attempts) == ("sent", 3)


def test_a_store_keyword_on_a_number_dedicated_to_it(db, store, texting):
    from commerce.stores import do_add_channel_address

    do_add_channel_address(db, store, "sms", "+254711000222")
    assert texting("habari", to="+254711000222")[0].startswith("Karibu Mama Mboga Fresh!")


def test_without_an_sms_account_the_demo_writes_replies_to_the_log(make_app, caplog):
    app = make_app(AT_USERNAME="", AT_API_KEY="", AT_CALLBACK_TOKEN="", REDIS_URL="")  # as the demo
    with app.extensions["duka.db"]() as db:
        from commerce.demo import seed_demo_store
        seed_demo_store(db)
    answer = app.test_client().post("/channels/sms/africastalking", data={
        "from": PHONE, "to": SHORT_CODE, "text": "MBOGA", "id": "ATXid_demo",
        "date": "2026-11-27 10:00:00"})
    assert answer.status_code == 200
    with app.extensions["duka.db"]() as db:
        sent = db.scalars(select(OutboundMessage)).all()
    assert [(m.provider, m.status) for m in sent] == [("log", "sent")]
    assert any("SMS NOT SENT" in r.getMessage() and "Karibu" in r.getMessage()
               for r in caplog.records)


def test_a_refused_order_command_is_explained_in_the_shoppers_language(db, store, texting):
    texting("MBOGA LANG sw")
    assert texting("ORDER MANA-BUNC 5")[0].startswith("Samahani, zimebaki 3 tu za Managu bunch.")
