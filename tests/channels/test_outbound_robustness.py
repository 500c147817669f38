"""Outbound SMS and WhatsApp under stress: a lost job or a dead worker (the sweep), a send that
never works, SMS written in GSM-7 and fitted whoever queues them, a picture and its text in
order, WhatsApp refusing a notification (SMS instead), WhatsApp half configured, a delivery
report faster than our own commit, and two workers on one broadcast. Real AT, heyoo and twilio
clients against the local fakes; a dead Redis port stands for Redis down."""
import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from channels import broadcasts, outbound, templates
from channels.context import services
from channels.gsm import BASIC, EXTENSION
from channels.models import OutboundMessage
from channels.notifications import send_text_now
from channels.reach import whatsapp_on
from commerce.customers import get_or_create_customer
from commerce.db import utcnow
from commerce.demo import link_demo_whatsapp
from commerce.models import ProductImage, Store
from tests.channels.conftest import AT_CALLBACK_TOKEN, WHATSAPP_APP_SECRET
from tests.fakes import graph
from tests.helpers import place_order, variant_by_sku

PHONE = "+254712345678"
WA_ID = PHONE.lstrip("+")
MERCHANT = "+254700123456"  # the demo store's contact phone
SHORT_CODE = "22384"
DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens there: every enqueue fails
RECEIPT = ("Mama Mboga Fresh: order #1001 received. 2x Tomatoes 1kg, 1x Onions 1kg. "
           "Total KSh 340.00. Pay cash on delivery. Help: +254700123456")


@pytest.fixture
def app(make_app, messaging_settings):
    return make_app(**messaging_settings)


@pytest.fixture
def redis_down(make_app, messaging_settings, app):
    """The same database, with a job queue that cannot be reached."""
    return make_app(**messaging_settings, REDIS_URL=DEAD_REDIS)


@pytest.fixture
def shop(db, store):
    """The demo store, answering on the Cloud API number too."""
    link_demo_whatsapp(db, store, graph.PHONE_NUMBER_ID)
    return store


def sms_to(fake_at, phone=PHONE):
    return [m["message"] for m in fake_at.messages if m["to"] == phone]


def rows(db, **where):
    db.expire_all()
    query = select(OutboundMessage).order_by(OutboundMessage.id)
    for name, value in where.items():
        query = query.where(getattr(OutboundMessage, name) == value)
    return list(db.scalars(query))


def in_window(db, store, phone=PHONE, **fields):
    """A shopper who wrote on WhatsApp (Cloud API) an hour ago."""
    customer = get_or_create_customer(db, store, phone)
    customer.whatsapp_via, customer.whatsapp_seen_at = "whatsapp", utcnow() - timedelta(hours=1)
    for name, value in fields.items():
        setattr(customer, name, value)
    db.commit()
    return customer


def is_gsm7(text: str) -> bool:
    return all(char in BASIC or char in EXTENSION for char in text)


class HeldJobs:
    """Jobs kept until the test runs them, in the order it likes (workers race)."""

    def __init__(self, app):
        self.app, self.held = app, []

    def enqueue(self, job, *args, retries=0):
        self.held.append((job, args))

    def take(self, job):
        taken = [held for held in self.held if held[0] is job]
        self.held = [held for held in self.held if held[0] is not job]
        return taken

    def run(self, jobs):
        for job, args in jobs:
            with self.app.app_context():
                job(*args)


@pytest.fixture
def held(app, monkeypatch):
    """Every job of ``app`` (the after-commit sends too: the hook uses the same queue) is held."""
    jobs = HeldJobs(app)
    monkeypatch.setattr(app.extensions["duka.channels"].jobs, "enqueue", jobs.enqueue)
    return jobs


# -- 1. the sweep: lost jobs, dead workers, and giving up ---------------------------------------
def test_a_message_whose_job_was_never_queued_is_sent_by_the_sweep_once(
        redis_down, app, db, store, fake_at, run_jobs, caplog):
    with redis_down.app_context(), caplog.at_level(logging.ERROR):
        send_text_now(store.id, PHONE, "Your Duka code is 482913")
    assert "could not queue the event relay or a message" in caplog.text
    [message] = rows(db)
    assert message.status == "queued" and fake_at.attempts == 0

    with app.app_context():
        assert outbound.resend_stuck() == 0  # its job may yet run: too early to tell
        later = utcnow() + outbound.QUEUED_STUCK_AFTER + timedelta(minutes=1)
        assert outbound.resend_stuck(now=later) == 1
        assert outbound.resend_stuck(now=later) == 0  # claimed: a second sweep leaves it
    run_jobs()

    assert sms_to(fake_at) == ["Your Duka code is 482913"]
    [message] = rows(db)
    assert (message.status, message.attempts) == ("sent", 1)
    with app.app_context():
        assert outbound.resend_stuck(now=later + timedelta(hours=1)) == 0  # sent stays sent


def _left_sending(db, minutes_ago, attempts=1, error=None):
    db.execute(update(OutboundMessage).values(
        status="sending", attempts=attempts, error=error,
        updated_at=utcnow() - timedelta(minutes=minutes_ago)))
    db.commit()


def test_a_message_left_sending_by_a_dead_worker_is_sent_again_only_after_a_long_wait(
        app, db, store, fake_at, held, run_jobs):
    with app.app_context():
        send_text_now(store.id, PHONE, "Your Duka code is 482913")
    held.held.clear()  # the worker took the job and died mid-send
    _left_sending(db, minutes_ago=20)  # a slow send may still be under way: not yet

    with app.app_context():
        assert outbound.resend_stuck() == 0
        _left_sending(db, minutes_ago=outbound.SENDING_STUCK_AFTER.total_seconds() / 60 + 1)
        assert outbound.resend_stuck() == 1
        assert outbound.resend_stuck() == 0
    [(job, args)] = held.held
    held.run(held.held)

    assert job is outbound.deliver_message
    assert sms_to(fake_at) == ["Your Duka code is 482913"]
    assert [(m.status, m.attempts) for m in rows(db)] == [("sent", 2)]


def test_a_message_that_runs_out_of_tries_ends_failed_with_its_last_error(
        app, db, store, fake_at, run_jobs):
    fake_at.fail_next = 100
    with app.app_context():
        send_text_now(store.id, PHONE, "Your Duka code is 482913")
    run_jobs()

    [message] = rows(db)
    assert (message.status, message.attempts) == ("failed", outbound.MAX_ATTEMPTS)
    assert message.error.startswith(f"gave up after {outbound.MAX_ATTEMPTS} attempts: ")
    assert "Africa's Talking refused or failed" in message.error
    assert fake_at.attempts == outbound.MAX_ATTEMPTS
    with app.app_context():  # failed is final: the sweep leaves it
        assert outbound.resend_stuck(now=utcnow() + timedelta(hours=2)) == 0


def test_the_sweep_gives_up_on_a_message_out_of_tries_instead_of_sending_it(
        app, db, store, fake_at, held):
    with app.app_context():
        send_text_now(store.id, PHONE, "Your Duka code is 482913")
        held.held.clear()
        _left_sending(db, minutes_ago=60, attempts=outbound.MAX_ATTEMPTS,
                      error="Africa's Talking refused or failed: 500")
        assert outbound.resend_stuck() == 0

    [message] = rows(db)
    assert message.status == "failed"
    assert message.error == (f"gave up after {outbound.MAX_ATTEMPTS} attempts: "
                             "Africa's Talking refused or failed: 500")
    assert held.held == [] and fake_at.attempts == 0


# -- 2. every SMS in GSM-7 when the language allows, and fitted --------------------------------
def test_a_notification_is_written_in_gsm7_and_cut_at_a_word(app, db, store, fake_at,
                                                             run_jobs):
    thanks = "Thank you for shopping with us today. " * 12
    templates.do_set_template(db, store, "order.placed", "en",
                              "{store}: “asante” — order #{number} for {total} is in. Crème "
                              "fraîche… " + thanks)
    place_order(db, store, payment_method="cod")
    run_jobs()

    [receipt] = sms_to(fake_at)
    whole = ('Mama Mboga Fresh: "asante" - order #1001 for KSh 340.00 is in. Crème fraiche... '
             + thanks.strip())
    assert is_gsm7(receipt) and len(receipt) <= 2 * 153
    kept = receipt.removesuffix("..")
    assert receipt.endswith("..") and whole.startswith(kept) and whole[len(kept)] == " "
    assert len(kept) > 2 * 153 - 20  # cut at the last word that fits, not much earlier
    assert rows(db, recipient=PHONE)[0].body == receipt  # the record says what went out


def test_a_broadcast_is_written_in_gsm7(app, db, store, fake_at, run_jobs):
    get_or_create_customer(db, store, PHONE).marketing_consent = True
    db.commit()
    with app.app_context():
        broadcasts.do_create_broadcast(db, store, "Mangoes – KSh 50 “today” only…", {})
    run_jobs()

    assert sms_to(fake_at) == ['Mangoes - KSh 50 "today" only...']


def test_stop_and_start_answers_are_written_in_gsm7_or_ucs2_when_the_name_needs_it(
        app, db, store, fake_at, run_jobs):
    client = app.test_client()

    def text(body, message_id):
        answer = client.post(f"/channels/sms/africastalking?token={AT_CALLBACK_TOKEN}", data={
            "from": PHONE, "to": SHORT_CODE, "text": f"MBOGA {body}", "id": message_id,
            "date": "2026-11-26 10:00:00", "networkCode": "63902", "linkId": ""})
        assert answer.status_code == 200
        run_jobs()
        return sms_to(fake_at)[-1]

    db.execute(update(Store).where(Store.id == store.id).values(name="Chez Léa — Fraîche"))
    db.commit()
    assert text("STOP", "ATXid_o1") == ("You will get no more messages from Chez Léa - "
                                        "Fraiche. Send START to get them again.")
    # A name only UCS-2 can write is kept (as UCS-2), not turned into question marks.
    db.execute(update(Store).where(Store.id == store.id).values(name="ሱቅ ማማ"))
    db.commit()
    assert text("START", "ATXid_o2") == ("Welcome back! ሱቅ ማማ will send you messages again. "
                                         "Send STOP to end them.")


def test_an_sms_needing_ucs2_is_fitted_to_ucs2_parts(app, db, store, fake_at, run_jobs):
    with app.app_context():
        send_text_now(store.id, PHONE, "ሱቅ " * 100)
    run_jobs()

    [text] = sms_to(fake_at)
    assert text == "ሱቅ " * 43 + "ሱቅ.."  # 2 x 67 UTF-16 units at most, cut between words
    assert len(text) <= 2 * 67


# -- 3. a picture, then its text ----------------------------------------------------------------
@pytest.fixture
def at_the_cabbage(app, db, shop, fake_graph, run_jobs):
    """A shopper on WhatsApp at the vegetables (the cabbage has a picture); returns how to
    deliver a webhook and the tap that opens the cabbage."""
    cabbage = variant_by_sku(db, shop, "CABB")
    db.add(ProductImage(store_id=shop.id, product_id=cabbage.product_id,
                        url="https://cdn.example.com/cabbage.jpg"))
    db.commit()
    client = app.test_client()

    def deliver(payload):
        raw, headers = graph.signed(WHATSAPP_APP_SECRET, payload)
        assert client.post("/channels/whatsapp", data=raw, headers=headers).status_code == 200

    def tap(message, label):
        action = message["interactive"]["action"]
        if "buttons" in action:
            ids, kind = {b["reply"]["title"]: b["reply"]["id"] for b in action["buttons"]}, \
                "button_reply"
        else:
            ids, kind = {r["title"]: r["id"] for s in action["sections"] for r in s["rows"]}, \
                "list_reply"
        return graph.interactive_reply(WA_ID, ids[label], label, kind=kind)

    deliver(graph.text_message(WA_ID, "Hi"))
    run_jobs()
    deliver(tap(fake_graph.messages[-1]["body"], "Vegetables"))
    run_jobs()
    return deliver, tap(fake_graph.messages[-1]["body"], "Cabbage KSh 60")


def test_a_pictures_text_never_overtakes_it_even_when_workers_race(
        app, fake_graph, at_the_cabbage, monkeypatch):
    deliver, open_cabbage = at_the_cabbage
    held = HeldJobs(app)
    monkeypatch.setattr(app.extensions["duka.channels"].jobs, "enqueue", held.enqueue)
    before = len(fake_graph.messages)
    deliver(open_cabbage)
    while held.held:  # the newest job first, as when a second worker is the quicker
        held.run([held.held.pop()])

    sent = [m["body"] for m in fake_graph.messages[before:]]
    assert [m["type"] for m in sent] == ["image", "text"]
    assert sent[1]["text"]["body"].startswith("Cabbage KSh 60 each.")


def test_a_picture_that_fails_once_still_comes_before_its_text(db, fake_graph, at_the_cabbage,
                                                              run_jobs):
    deliver, open_cabbage = at_the_cabbage
    before = len(fake_graph.messages)
    fake_graph.fail_next = 1  # the picture's first try
    deliver(open_cabbage)
    run_jobs()

    assert [m["body"]["type"] for m in fake_graph.messages[before:]] == ["image", "text"]
    picture, text = rows(db)[-2:]
    assert [(picture.status, picture.attempts), (text.status, text.attempts)] == [
        ("sent", 2), ("sent", 1)]


# -- 4. WhatsApp refuses a notification: SMS instead, once --------------------------------------
def test_a_notification_whatsapp_refuses_goes_by_sms_instead_once(app, db, shop, fake_at,
                                                                  fake_graph, run_jobs):
    in_window(db, shop)
    fake_graph.error_next = (400, 131026, "Message undeliverable")
    place_order(db, shop, payment_method="cod")
    run_jobs()

    assert fake_graph.messages == []
    assert sms_to(fake_at) == [RECEIPT]
    whatsapp, sms = rows(db, purpose="order.placed")
    assert (whatsapp.channel, whatsapp.status) == ("whatsapp", "failed")
    assert whatsapp.error.startswith("WhatsApp error 131026")
    assert (sms.channel, sms.status, sms.dedup_key) == ("sms", "sent",
                                                         f"sms-instead:{whatsapp.id}")
    with app.app_context():  # a sweep later finds nothing more to do
        assert outbound.resend_stuck(now=utcnow() + timedelta(hours=1)) == 0
    assert sms_to(fake_at) == [RECEIPT]


def test_a_notification_whatsapp_reports_failed_later_goes_by_sms_once(app, db, shop, fake_at,
                                                                       fake_graph, run_jobs):
    in_window(db, shop)
    place_order(db, shop, payment_method="cod")
    run_jobs()
    [sent] = fake_graph.messages
    assert sms_to(fake_at) == []
    wamid = rows(db, channel="whatsapp")[0].provider_message_id

    client = app.test_client()
    failed = graph.status_update(wamid, "failed", WA_ID,
                                 errors=((131047, "Re-engagement message"),))
    for _ in range(2):  # Meta delivers it twice
        raw, headers = graph.signed(WHATSAPP_APP_SECRET, failed)
        assert client.post("/channels/whatsapp", data=raw, headers=headers).status_code == 200
        run_jobs()

    assert sms_to(fake_at) == [RECEIPT]
    [whatsapp] = rows(db, channel="whatsapp")
    assert (whatsapp.status, whatsapp.error) == ("failed", "131047: Re-engagement message")


def test_a_reply_whatsapp_refuses_is_not_turned_into_an_sms(app, db, shop, fake_at, fake_graph,
                                                           run_jobs):
    fake_graph.error_next = (400, 131026, "Message undeliverable")
    raw, headers = graph.signed(WHATSAPP_APP_SECRET, graph.text_message(WA_ID, "Hi"))
    assert app.test_client().post("/channels/whatsapp", data=raw,
                                  headers=headers).status_code == 200
    run_jobs()

    assert [(m.purpose, m.status) for m in rows(db)] == [("reply", "failed")]
    assert sms_to(fake_at) == []


# -- 5. WhatsApp is on only when fully configured -----------------------------------------------
def drain(app) -> None:
    """Run ``app``'s queued jobs in its own context (``run_jobs`` runs them in ``app``'s)."""
    redis = app.extensions["duka.admin"].redis
    if redis is not None:
        from rq import SimpleWorker

        with app.app_context():
            SimpleWorker(["default"], connection=redis).work(burst=True)


def test_whatsapp_without_its_token_is_off_for_notifications_and_the_log_says_so(
        make_app, messaging_settings, fake_at, fake_graph, caplog):
    settings = {**messaging_settings, "WHATSAPP_TOKEN": "",
                "WHATSAPP_PHONE_NUMBER_ID": graph.PHONE_NUMBER_ID}
    with caplog.at_level(logging.WARNING):
        half = make_app(**settings)
    assert ("WhatsApp is OFF: WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_APP_SECRET, "
            "WHATSAPP_VERIFY_TOKEN set but WHATSAPP_TOKEN is not") in caplog.text
    assert not whatsapp_on(half.extensions["duka.channels"], "whatsapp")

    with half.extensions["duka.db"]() as db:
        from commerce.demo import seed_demo_store

        store, _ = seed_demo_store(db)
        link_demo_whatsapp(db, store, graph.PHONE_NUMBER_ID)
        in_window(db, store)
        place_order(db, store, payment_method="cod")
        drain(half)
        assert [(m.channel, m.status) for m in rows(db, recipient=PHONE)] == [("sms", "sent")]
    assert sms_to(fake_at) == [RECEIPT] and fake_graph.attempts == 0


def test_whatsapp_fully_configured_starts_without_a_warning(make_app, messaging_settings,
                                                            caplog):
    with caplog.at_level(logging.WARNING):
        full = make_app(**messaging_settings, WHATSAPP_PHONE_NUMBER_ID=graph.PHONE_NUMBER_ID)
    assert "WhatsApp is" not in caplog.text
    assert whatsapp_on(full.extensions["duka.channels"], "whatsapp")


# -- 6. a delivery report faster than our commit ------------------------------------------------
class ReportsAtOnce:
    """The real AT sender; AT's delivery report arrives while our job has not yet saved the id
    it was given (as it can, on a busy database)."""

    def __init__(self, sender, post):
        self.sender, self.post, self.answers = sender, post, []
        self.provider = sender.provider

    def send(self, to, content):
        message_id = self.sender.send(to, content)
        self.answers.append(self.post(message_id).get_json())
        return message_id


def test_a_delivery_report_that_outruns_the_saved_id_is_applied_when_it_is_saved(
        app, db, store, fake_at, run_jobs, monkeypatch):
    client = app.test_client()
    senders = app.extensions["duka.channels"].senders

    def report(message_id):
        return client.post(f"/channels/sms/africastalking/delivery?token={AT_CALLBACK_TOKEN}",
                           data={"id": message_id, "status": "Success", "phoneNumber": PHONE})
    early = ReportsAtOnce(senders["africastalking"], report)
    monkeypatch.setitem(senders, "africastalking", early)
    with app.app_context():
        send_text_now(store.id, PHONE, "Your Duka code is 482913")
    run_jobs()

    assert early.answers == [{"status": "ignored"}]  # no message had that id yet
    [message] = rows(db)
    assert (message.status, message.provider_message_id.startswith("ATXid_")) == (
        "delivered", True)
    # Forward only still: a late "Sent" report changes nothing.
    assert report(message.provider_message_id).get_json() == {"status": "recorded"}
    assert client.post(f"/channels/sms/africastalking/delivery?token={AT_CALLBACK_TOKEN}",
                       data={"id": message.provider_message_id, "status": "Sent"}
                       ).get_json() == {"status": "recorded"}
    assert rows(db)[0].status == "delivered"


# -- 7. one worker paces a broadcast ------------------------------------------------------------
class FakeClock:
    def __init__(self):
        self.t = utcnow()
        self.sleeps: list[float] = []
        self.on_sleep = None

    def now(self):
        return self.t

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        if self.on_sleep:
            self.on_sleep()
        self.t += timedelta(seconds=seconds)


@pytest.fixture
def crowd(app, db, store, monkeypatch):
    for n in range(1, 5):
        get_or_create_customer(db, store, f"+25471100000{n}").marketing_consent = True
    db.commit()
    clock = FakeClock()
    monkeypatch.setattr(broadcasts, "CLOCK", broadcasts.Clock(clock.now, clock.sleep))
    return clock


def test_a_second_worker_on_a_broadcast_leaves_it_to_the_first(app, db, store, crowd, held,
                                                               fake_at, run_jobs):
    with app.app_context():
        broadcast = broadcasts.do_create_broadcast(db, store, "Mangoes today!", {},
                                                   per_minute=60)
    [(job, args)] = held.take(broadcasts.send_broadcast)
    during = []

    def second_worker():  # while the first waits, another worker gets the same broadcast
        crowd.on_sleep = None
        before = db.scalar(select(func.count(OutboundMessage.id)))
        held.run([(job, args)])
        during.append(db.scalar(select(func.count(OutboundMessage.id))) - before)
    crowd.on_sleep = second_worker
    held.run([(job, args)])
    held.run(held.held)
    run_jobs()

    assert during == [0]  # it left at once
    assert crowd.sleeps == [1.0, 1.0, 1.0]  # one pace: one a second
    assert len([m for m in fake_at.messages if m["message"] == "Mangoes today!"]) == 4
    db.expire_all()
    assert db.get(type(broadcast), broadcast.id).status == "done"


def test_a_broadcast_whose_lease_is_held_elsewhere_waits_for_it(app, db, store, crowd, held,
                                                               fake_at, run_jobs):
    with app.app_context():
        broadcast = broadcasts.do_create_broadcast(db, store, "Mangoes today!", {},
                                                   per_minute=60)
    jobs = held.take(broadcasts.send_broadcast)
    other = broadcasts._lease(app.extensions["duka.channels"], broadcast.id)
    assert other.take()  # another worker is pacing this broadcast
    held.run(jobs)
    held.run(held.held)
    run_jobs()
    assert fake_at.messages == []

    other.release()  # it finished its stint (or its lease lapsed)
    held.run(jobs)
    held.run(held.held)
    run_jobs()
    assert len(fake_at.messages) == 4



def _queue_code(session, store):
    return outbound.queue_message(
        session, channel="sms", provider="africastalking", recipient=PHONE,
        content={"type": "text", "body": "Your Duka code is 482913"},
        purpose="staff.sign_in_code", store_id=store.id)


def test_a_message_queued_before_a_savepoint_that_rolled_back_is_sent_after_the_commit(
        app, db, store, held):
    with app.app_context(), services().db() as session:
        message = _queue_code(session, store)
        with pytest.raises(RuntimeError), session.begin_nested():
            raise RuntimeError("a step that failed and was undone")
        session.commit()

    assert held.take(outbound.deliver_message) == [(outbound.deliver_message, (message.id,))]


def test_a_message_of_a_rolled_back_transaction_gets_no_job(app, db, store, held):
    with app.app_context(), services().db() as session:
        _queue_code(session, store)
        session.rollback()
        session.commit()  # the next transaction queued nothing

    assert held.take(outbound.deliver_message) == [] and rows(db) == []
