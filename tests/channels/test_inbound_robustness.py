"""Inbound SMS and WhatsApp under stress: a lost job, two jobs for one message, STOP in reply to
a notification, command words inside free text, the AT callback token, and fields too long to
keep. Real SDK clients against the local fakes; a dead Redis port stands for Redis down."""
import itertools
import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from channels import inbound, keywords
from channels.models import InboundMessage, OutboundMessage
from channels.outbound import queue_message
from channels.reach import sms_route
from commerce.customers import find_customer_by_phone, get_or_create_customer
from commerce.db import utcnow
from commerce.demo import link_demo_whatsapp
from commerce.models import Customer
from commerce.stores import COMMAND_WORDS, InvalidChannelAddress, do_add_channel_address
from dialogs.i18n import CATALOGS, translate
from dialogs.registry import conversation as dialogs
from tests.channels.conftest import AT_CALLBACK_TOKEN, PUBLIC_URL, WHATSAPP_APP_SECRET
from tests.fakes import graph, twilio

PHONE = "+254712345678"
OTHER_PHONE = "+254722000111"
SHORT_CODE = "22384"
INBOUND = f"/channels/sms/africastalking?token={AT_CALLBACK_TOKEN}"
DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens there: every enqueue fails
_ids = itertools.count(1)


@pytest.fixture
def app(make_app, messaging_settings):
    return make_app(**messaging_settings)


@pytest.fixture
def redis_down(make_app, messaging_settings, app):
    """The same database, with a job queue that cannot be reached."""
    return make_app(**messaging_settings, REDIS_URL=DEAD_REDIS)


def sms_form(body, phone=PHONE, to=SHORT_CODE, message_id=None, **extra):
    return {"from": phone, "to": to, "text": body, "id": message_id or f"ATXid_r{next(_ids)}",
            "date": "2026-11-26 10:00:00", "networkCode": "63902", "linkId": "", **extra}


@pytest.fixture
def texting(app, fake_at, run_jobs):
    """``text("MBOGA")`` sends an SMS as AT would and returns the replies to it, in order."""
    client = app.test_client()

    def text(body, phone=PHONE, message_id=None, expect=200):
        sent_before = len(fake_at.messages)
        answer = client.post(INBOUND, data=sms_form(body, phone, message_id=message_id))
        assert answer.status_code == expect, answer.get_data(as_text=True)
        run_jobs()
        return [m["message"] for m in fake_at.messages[sent_before:] if m["to"] == phone]

    return text


def statuses(db) -> list[str]:
    db.expire_all()
    return list(db.scalars(select(InboundMessage.status).order_by(InboundMessage.id)))


# -- 1. a lost job, a retry, the sweep, and two jobs for one message ----------------------------
def test_a_retry_of_a_message_whose_job_was_lost_is_answered(db, store, redis_down, texting):
    lost = redis_down.test_client().post(INBOUND, data=sms_form("MBOGA", message_id="ATXid_l1"))
    assert (lost.status_code, lost.get_json()) == (200, {"status": "accepted"})  # recorded
    assert statuses(db) == ["received"]

    [reply] = texting("MBOGA", message_id="ATXid_l1")  # AT delivers it again
    assert reply.startswith("Karibu Mama Mboga Fresh!")
    assert statuses(db) == ["handled"]
    assert texting("MBOGA", message_id="ATXid_l1") == []  # answered: now a true duplicate


def test_the_sweep_queues_again_what_was_left_received(app, db, store, redis_down, fake_at,
                                                        run_jobs):
    from admin.scheduler import schedule_of

    client = redis_down.test_client()
    client.post(INBOUND, data=sms_form("MBOGA", message_id="ATXid_s1"))
    client.post(INBOUND, data=sms_form("MBOGA", phone=OTHER_PHONE, message_id="ATXid_s2"))
    db.execute(update(InboundMessage).where(InboundMessage.provider_message_id == "ATXid_s1")
               .values(received_at=utcnow() - timedelta(minutes=2)))
    db.commit()

    every = {job: seconds for job, seconds in schedule_of(app)}
    assert every[inbound.requeue_stale_messages] == 60
    with app.app_context():
        assert inbound.requeue_stale_messages() == 1  # the other is too fresh to call lost
    run_jobs()
    assert [m["to"] for m in fake_at.messages] == [PHONE]
    assert fake_at.messages[0]["message"].startswith("Karibu Mama Mboga Fresh!")
    assert statuses(db) == ["handled", "received"]


def test_a_message_another_job_has_claimed_is_not_answered_again(app, db, store, redis_down,
                                                                 fake_at, run_jobs):
    redis_down.test_client().post(INBOUND, data=sms_form("MBOGA", message_id="ATXid_c1"))
    inbound_id = db.scalar(select(InboundMessage.id))
    db.execute(update(InboundMessage).values(status="handling"))  # a first job is at it
    db.commit()

    with app.app_context():
        inbound.handle_inbound(inbound_id)  # the second job, queued by a retry or the sweep
    run_jobs()
    assert fake_at.messages == []
    assert statuses(db) == ["handling"]


# -- 2. STOP in reply to a notification ---------------------------------------------------------
def notify(app, db, store, phone, sender=None):
    """An SMS notification to ``phone`` as the notifications send one, delivered."""
    customer = get_or_create_customer(db, store, phone)
    with app.app_context():
        route = sms_route(app.extensions["duka.channels"], phone, "Your order is on its way.")
        content = {**route.content, "from": sender} if sender else route.content
        queue_message(db, channel=route.channel, provider=route.provider,
                      recipient=route.recipient, content=content, purpose="order.shipped",
                      store_id=store.id, customer_id=customer.id)
        db.commit()


def test_stop_in_reply_to_a_notification_reaches_the_store_that_sent_it(app, db, store,
                                                                        texting, run_jobs):
    notify(app, db, store, PHONE)
    run_jobs()
    assert db.scalar(select(OutboundMessage.status)) == "sent"

    assert texting("stop") == ["You will get no more messages from Mama Mboga Fresh. Send "
                               "START to get them again."]
    db.expire_all()
    assert find_customer_by_phone(db, store, PHONE).opted_out_at is not None
    assert texting("START")[0].startswith("Welcome back!")


def test_a_notification_from_another_address_does_not_route_a_reply(app, db, store, texting,
                                                                   run_jobs):
    notify(app, db, store, PHONE, sender="40400")  # the phone's reply would reach 40400
    run_jobs()
    assert texting("STOP")[0].startswith("Sorry, we could not tell which shop")
    db.expire_all()
    assert find_customer_by_phone(db, store, PHONE).opted_out_at is None


# -- 3. command words inside free text; keywords that clash with commands -----------------------
def test_an_address_that_starts_with_stop_is_an_address(db, store, texting):
    for body in ("MBOGA", "1", "1"):  # Vegetables, Cabbage
        texting(body)
    assert texting("2")[0].startswith("Total KSh 120\nHow do you want")
    assert texting("2")[0].startswith("Type your delivery address")  # delivery: type it

    assert texting("Stop 5, Moi Avenue")[0].startswith("Total KSh 220\nincl. delivery KSh 100")
    db.expire_all()
    customer = find_customer_by_phone(db, store, PHONE)
    assert customer.opted_out_at is None
    assert customer.addresses[-1].text.startswith("Stop 5, Moi Avenue")


def test_a_command_word_is_typed_text_where_a_screen_asks_for_text(db, store, texting):
    texting("MBOGA")
    assert texting("SEARCH")[0].startswith("Type what you are looking for:")
    # Without the rule, CART would open the cart; here it is what to look for.
    assert texting("Cart wheels")[0].startswith("Nothing matches Cart wheels.")
    texting("00")
    assert texting("CART")[0].startswith("Your cart is empty")  # on a menu it is the command


def test_stop_alone_opts_out_from_any_screen(db, store, texting):
    for body in ("MBOGA", "1", "1", "2", "2"):  # the address screen
        texting(body)
    assert texting("  Stop. ")[0].startswith("You will get no more messages")
    db.expire_all()
    assert find_customer_by_phone(db, store, PHONE).opted_out_at is not None


def test_the_keyword_alone_goes_home_even_from_a_text_screen(db, store, texting):
    for body in ("MBOGA", "1", "1", "2", "2"):  # the address screen
        texting(body)
    assert texting("mboga")[0].startswith("Karibu Mama Mboga Fresh!")


def test_only_the_whole_message_is_an_opt_out():
    assert keywords.opt_command(" STOP ", ["en"]) == "stop"
    assert keywords.opt_command("acha!", ["en", "sw"]) == "stop"
    assert keywords.opt_command("Start", ["en"]) == "start"
    assert keywords.opt_command("Stop 5, Moi Avenue", ["en"]) is None
    assert keywords.opt_command("MENU", ["en"]) is None


def test_the_screens_that_ask_for_typed_text_are_the_address_code_and_search():
    typed = {(name, state) for name, dialog in dialogs.dialogs.items()
             for state in dialog.states if dialogs.awaits_text({"dialog": name, "state": state})}
    assert typed == {("checkout", "address"), ("checkout", "discount"), ("search", "ask")}


@pytest.mark.parametrize("keyword, message", [
    ("stop", "STOP is a command shoppers send by SMS (like MENU, STOP or HELP, in any "
             "language); choose another keyword."),
    ("Menyu", "MENYU is a command shoppers send by SMS (like MENU, STOP or HELP, in any "
              "language); choose another keyword."),
    ("ARRET", "ARRET is a command shoppers send by SMS (like MENU, STOP or HELP, in any "
              "language); choose another keyword."),
    ("2", "An SMS keyword cannot be only digits: shoppers send numbers to choose from a "
          "menu. Use letters, like MBOGA."),
    ("0042", "An SMS keyword cannot be only digits: shoppers send numbers to choose from a "
             "menu. Use letters, like MBOGA."),
])
def test_a_keyword_that_clashes_with_a_command_is_refused(db, store, keyword, message):
    with pytest.raises(InvalidChannelAddress) as caught:
        do_add_channel_address(db, store, "sms", SHORT_CODE, keyword)
    assert caught.value.message == message
    assert do_add_channel_address(db, store, "sms", SHORT_CODE, "MBOGA2").selector == "MBOGA2"


def test_the_command_words_commerce_refuses_are_every_command_in_every_catalog():
    spelled = {keywords._plain(translate(locale, msgid))
               for locale in (*CATALOGS, "en") for msgid in keywords.COMMANDS.values()}
    assert spelled == set(COMMAND_WORDS)


# -- 4. the AT callback token is required where AT SMS is on ------------------------------------
def test_at_sms_without_a_callback_token_refuses_every_callback(make_app, caplog):
    with caplog.at_level(logging.ERROR, logger="channels.africastalking_sms"):
        app = make_app(AT_CALLBACK_TOKEN="")
    assert "configuration error: AT_CALLBACK_TOKEN is not set" in caplog.text
    client = app.test_client()
    for path in ("/channels/sms/africastalking", "/channels/sms/africastalking?token=",
                 "/channels/sms/africastalking?token=anything"):
        answer = client.post(path, data=sms_form("MBOGA"))
        assert answer.status_code == 403
        assert "AT_CALLBACK_TOKEN" in answer.get_json()["error"]["message"]
    delivery = client.post("/channels/sms/africastalking/delivery",
                           data={"id": "ATXid_1", "status": "Success"})
    assert delivery.status_code == 403
    with app.extensions["duka.db"]() as db:
        assert db.scalar(select(func.count(InboundMessage.id))) == 0


def test_the_demo_without_at_takes_sms_without_a_token(make_app, caplog):
    with caplog.at_level(logging.ERROR, logger="channels.africastalking_sms"):
        app = make_app(AT_USERNAME="", AT_API_KEY="", AT_CALLBACK_TOKEN="")
    assert "AT_CALLBACK_TOKEN" not in caplog.text
    answer = app.test_client().post("/channels/sms/africastalking", data=sms_form("MBOGA"))
    assert (answer.status_code, answer.get_json()) == (200, {"status": "accepted"})


def test_a_token_with_characters_beyond_ascii_is_refused_not_a_crash(app):
    answer = app.test_client().post("/channels/sms/africastalking?token=caf%C3%A9",
                                    data=sms_form("MBOGA"))
    assert answer.status_code == 403


# -- 5. fields too long to keep: 400, nothing recorded ------------------------------------------
def nothing_recorded(db) -> bool:
    db.expire_all()
    return (db.scalar(select(func.count(InboundMessage.id))) == 0
            and db.scalar(select(func.count(Customer.id))) == 0)


@pytest.mark.parametrize("field, value, most", [
    ("from", "+" + "7" * 80, 80),
    ("to", "2" * 61, 60),
    ("id", "A" * 129, 128),
    ("text", "habari " * 600, 4096),
    ("linkId", "L" * 1025, 1024),
])
def test_an_sms_with_a_field_too_long_gets_400(app, db, field, value, most):
    answer = app.test_client().post(INBOUND, data=sms_form("MBOGA", **{field: value}))
    assert answer.status_code == 400
    assert answer.get_json()["error"] == {
        "code": "bad_request",
        "message": f"The field {field} is too long: at most {most} characters."}
    assert nothing_recorded(db)


def test_an_sms_id_as_long_as_the_column_is_kept(db, store, texting):
    assert texting("MBOGA", message_id="A" * 128)[0].startswith("Karibu")
    assert db.scalar(select(InboundMessage.provider_message_id)) == "A" * 128


@pytest.mark.parametrize("field, value, message", [
    ("MessageSid", "SM" + "0" * 127,
     "The field MessageSid is too long: at most 128 characters."),
    ("From", "+" + "7" * 80, "The field From is too long: at most 80 characters."),
    ("To", "+" + "2" * 60, "The field To is too long: at most 60 characters."),
    ("Body", "x" * 4097, "The field Body is too long: at most 4096 characters."),
    ("FromCity", "N" * 1025, "The field FromCity is too long: at most 1024 characters."),
])
def test_a_twilio_message_with_a_field_too_long_gets_400(app, db, fake_twilio, field, value,
                                                         message):
    form = {**twilio.inbound_sms(PHONE, "+254711000222", "hello"), field: value}
    if field == "MessageSid":
        form["SmsSid"] = value
    signature = twilio.sign(fake_twilio.auth_token, PUBLIC_URL + "/channels/twilio", form)
    answer = app.test_client().post("/channels/twilio", data=form,
                                    headers={"X-Twilio-Signature": signature})
    assert answer.status_code == 400
    assert answer.get_json()["error"] == {"code": "bad_request", "message": message}
    assert nothing_recorded(db)


@pytest.mark.parametrize("payload, message", [
    (graph.text_message("254712345678", "hi", message_id="wamid." + "A" * 123),
     "The field messages[].id is too long: at most 128 characters."),
    (graph.text_message(None, "hi", user_id="KE." + "b" * 80),
     "The field contacts[].user_id is too long: at most 80 characters."),
    (graph.text_message("254712345678", "x" * 4097),
     "The field text.body is too long: at most 4096 characters."),
    (graph.text_message("254712345678", "hi", phone_number_id="1" * 61),
     "The field metadata.phone_number_id is too long: at most 60 characters."),
])
def test_a_whatsapp_batch_with_a_field_too_long_gets_400(app, db, store, payload, message):
    link_demo_whatsapp(db, store, graph.PHONE_NUMBER_ID)
    customers_before = db.scalar(select(func.count(Customer.id)))
    good = graph.text_message("254712345678", "Hi")
    batch = graph.batch(good, payload)  # the good one is not recorded either
    raw, headers = graph.signed(WHATSAPP_APP_SECRET, batch)
    answer = app.test_client().post("/channels/whatsapp", data=raw, headers=headers)
    assert answer.status_code == 400
    assert answer.get_json()["error"] == {"code": "bad_request", "message": message}
    db.expire_all()
    assert db.scalar(select(func.count(InboundMessage.id))) == 0
    assert db.scalar(select(func.count(Customer.id))) == customers_before
