"""Broadcasts to a segment of consenting customers: at the merchant's pace (measured by the
pauses, on a fake clock), resumed after a worker dies, and never twice to anyone."""
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from channels import broadcasts
from channels.broadcasts import InvalidBroadcast
from channels.models import Broadcast, BroadcastRecipient, OutboundMessage
from commerce import order_payments
from commerce.customers import get_or_create_customer
from commerce.db import utcnow
from commerce.models import Order
from tests.helpers import place_order

BODY = "Fresh mangoes today! KSh 50 each."
# Phones of the demo store's customers in ``crowd``:
AMINA = "+254711000001"  # Swahili, two paid orders this month (KSh 680)
BARAKA = "+254711000002"  # no language chosen (the store's English), one paid order in 2025
CHEPTOO = "+254711000003"  # English, an order not paid yet
DAVID = "+254711000004"  # English, no orders
NO_CONSENT = "+254711000005"
STOPPED = "+254711000006"


class FakeClock:
    def __init__(self):
        self.t = utcnow()
        self.sleeps: list[float] = []
        self.on_sleep = None  # called with the number of the pause, before it passes

    def now(self):
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.on_sleep:
            self.on_sleep(len(self.sleeps))
        self.t += timedelta(seconds=seconds)


@pytest.fixture(autouse=True)
def app_context(app):
    """The merchant's request (or command) creating a broadcast runs in the app's context."""
    with app.app_context():
        yield


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(broadcasts, "CLOCK", broadcasts.Clock(fake.now, fake.sleep))
    return fake


class HeldJobs:
    """A job queue that keeps jobs until the test runs them (as a worker would, later)."""

    def __init__(self, app):
        self.app, self.held = app, []

    def enqueue(self, func, *args, retries=0):
        self.held.append((func, args))

    def run_next(self):
        func, args = self.held.pop(0)
        with self.app.app_context():
            func(*args)

    def run_all(self):
        while self.held:
            self.run_next()


@pytest.fixture
def held(app, monkeypatch):
    jobs = HeldJobs(app)
    monkeypatch.setattr(app.extensions["duka.channels"], "jobs", jobs)
    return jobs


def customer(db, store, phone, locale=None, consent=True, stopped=False):
    person = get_or_create_customer(db, store, phone)
    person.locale, person.marketing_consent = locale, consent
    person.opted_out_at = utcnow() if stopped else None
    db.commit()
    return person


def paid_order(db, store, phone, when=None):
    order = place_order(db, store, phone=phone)
    order_payments.do_record_payment(db, store, order.id, "mpesa", order.total, f"QK{order.id}")
    if when is not None:
        db.execute(update(Order).where(Order.id == order.id).values(created_at=when))
        db.commit()
    return order


@pytest.fixture
def crowd(db, store, run_jobs, fake_at):
    customer(db, store, AMINA, locale="sw")
    paid_order(db, store, AMINA)
    paid_order(db, store, AMINA)
    customer(db, store, BARAKA)
    paid_order(db, store, BARAKA, when=utcnow() - timedelta(days=400))
    customer(db, store, CHEPTOO, locale="en")
    place_order(db, store, phone=CHEPTOO)
    customer(db, store, DAVID, locale="en")
    customer(db, store, NO_CONSENT, consent=False)
    customer(db, store, STOPPED, stopped=True)
    run_jobs()
    fake_at.messages.clear()  # the receipts
    return store


def recipients(db, broadcast):
    from commerce.models import Customer

    return sorted(db.scalars(select(Customer.phone).join(
        BroadcastRecipient, BroadcastRecipient.customer_id == Customer.id)
        .where(BroadcastRecipient.broadcast_id == broadcast.id)))


def got_it(fake_at):
    return sorted(m["to"] for m in fake_at.messages if m["message"] == BODY)


# -- who ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("segment, expected", [
    ({}, [AMINA, BARAKA, CHEPTOO, DAVID]),
    ({"locale": "sw"}, [AMINA]),
    ({"locale": "en"}, [BARAKA, CHEPTOO, DAVID]),  # Baraka reads the store's default
    ({"ordered_since": (date.today() - timedelta(days=30)).isoformat()}, [AMINA]),
    ({"ordered_since": "2020-01-01"}, [AMINA, BARAKA]),  # an unpaid order does not count
    ({"min_spent": 50000}, [AMINA]),
    ({"min_spent": 30000, "locale": "en"}, [BARAKA]),
])
def test_the_segment_picks_consenting_customers_by_language_last_order_and_spend(
        db, crowd, held, segment, expected):
    broadcast = broadcasts.do_create_broadcast(db, crowd, BODY, segment, per_minute=60)
    assert recipients(db, broadcast) == expected
    assert (broadcast.recipients, broadcast.status) == (len(expected), "sending")


@pytest.mark.parametrize("body, segment, per_minute, field", [
    ("", {}, 60, "body"),
    ("x" * 481, {}, 60, "body"),
    (BODY, {}, 0, "per_minute"),
    (BODY, {}, 6001, "per_minute"),
    (BODY, {}, True, "per_minute"),
    (BODY, {"town": "Nairobi"}, 60, "segment"),
    (BODY, {"locale": "fr"}, 60, "segment.locale"),  # not a language the store offers
    (BODY, {"ordered_since": "last week"}, 60, "segment.ordered_since"),
    (BODY, {"min_spent": -1}, 60, "segment.min_spent"),
    (BODY, {"min_spent": "100"}, 60, "segment.min_spent"),
    (BODY, ["locale"], 60, "segment"),
])
def test_a_bad_broadcast_is_refused_and_nothing_is_created(db, crowd, held, body, segment,
                                                           per_minute, field):
    with pytest.raises(InvalidBroadcast) as refused:
        broadcasts.do_create_broadcast(db, crowd, body, segment, per_minute)
    assert refused.value.details["field"] == field
    assert db.scalar(select(func.count(Broadcast.id))) == 0
    assert held.held == []


def test_nobody_in_the_segment_is_a_finished_broadcast(db, crowd, held):
    broadcast = broadcasts.do_create_broadcast(db, crowd, BODY, {"min_spent": 10**9})
    assert (broadcast.recipients, broadcast.status) == (0, "done")
    assert held.held == []


# -- sending ------------------------------------------------------------------------------------
def test_a_broadcast_goes_to_each_person_once_at_its_pace(db, crowd, clock, fake_at, run_jobs):
    broadcast = broadcasts.do_create_broadcast(db, crowd, BODY, {}, per_minute=30)
    run_jobs()

    assert got_it(fake_at) == [AMINA, BARAKA, CHEPTOO, DAVID]
    assert clock.sleeps == [2.0, 2.0, 2.0]  # 30 a minute: one every 2 s
    db.expire_all()
    done = db.get(Broadcast, broadcast.id)
    assert (done.status, done.sent) == ("done", 4)
    assert done.finished_at is not None
    assert db.scalar(select(func.count(OutboundMessage.id))
                     .where(OutboundMessage.purpose == "broadcast")) == 4


def test_a_long_broadcast_hands_over_to_a_new_job_at_its_time_budget(db, crowd, clock, held,
                                                                     fake_at, run_jobs):
    broadcasts.do_create_broadcast(db, crowd, BODY, {}, per_minute=2)  # one every 30 s
    held.run_next()
    run_jobs()

    assert len(got_it(fake_at)) == 2  # at 0 s and 30 s; the third would be past 45 s
    [(job, (broadcast_id, not_before))] = held.held
    assert job is broadcasts.send_broadcast
    assert not_before == (clock.t + timedelta(seconds=30)).isoformat()

    held.run_all()
    run_jobs()
    assert got_it(fake_at) == [AMINA, BARAKA, CHEPTOO, DAVID]
    assert clock.sleeps == [30.0, 30.0, 30.0]  # the pace held across the hand-overs
    assert db.get(Broadcast, broadcast_id, populate_existing=True).status == "done"


def test_stop_between_creating_and_sending_is_honoured(db, crowd, clock, held, fake_at,
                                                       run_jobs):
    broadcast = broadcasts.do_create_broadcast(db, crowd, BODY, {"locale": "en"})
    customer(db, crowd, CHEPTOO, locale="en", stopped=True)  # texts STOP meanwhile
    customer(db, crowd, DAVID, locale="en", consent=False)  # and David withdraws consent
    held.run_all()
    run_jobs()

    assert got_it(fake_at) == [BARAKA]
    statuses = dict(db.execute(
        select(BroadcastRecipient.customer_id, BroadcastRecipient.status)
        .where(BroadcastRecipient.broadcast_id == broadcast.id)).all())
    assert sorted(statuses.values()) == ["sent", "skipped", "skipped"]
    assert db.get(Broadcast, broadcast.id, populate_existing=True).sent == 1


class WorkerDied(RuntimeError):
    pass


def test_a_broadcast_whose_worker_died_is_resumed_and_nobody_gets_it_twice(
        db, crowd, clock, held, fake_at, run_jobs):
    broadcast = broadcasts.do_create_broadcast(db, crowd, BODY, {}, per_minute=60)

    def die(pause):
        if pause == 2:
            raise WorkerDied("the worker's machine went away")
    clock.on_sleep = die
    with pytest.raises(WorkerDied):
        held.run_next()
    clock.on_sleep = None
    run_jobs()
    assert got_it(fake_at) == [AMINA, BARAKA]
    # A third worker had claimed Cheptoo, then died before recording her message: her row
    # stays claimed and she is never sent it (at most once, never twice).
    cheptoo = get_or_create_customer(db, crowd, CHEPTOO)
    db.execute(update(BroadcastRecipient).where(BroadcastRecipient.status == "pending",
                                                BroadcastRecipient.customer_id == cheptoo.id)
               .values(status="claimed"))
    db.commit()

    with held.app.app_context():
        assert broadcasts.resume_broadcasts() == 0  # too early to tell a dead worker
        clock.t += broadcasts.STALLED_AFTER
        assert broadcasts.resume_broadcasts() == 1
    held.run_all()
    run_jobs()

    assert got_it(fake_at) == [AMINA, BARAKA, DAVID]
    db.expire_all()
    done = db.get(Broadcast, broadcast.id)
    assert (done.status, done.sent) == ("done", 3)
    with held.app.app_context():
        clock.t += broadcasts.STALLED_AFTER
        assert broadcasts.resume_broadcasts() == 0  # a finished broadcast stays finished


def test_two_workers_on_one_broadcast_share_it_without_sending_twice(db, crowd, clock, held,
                                                                     fake_at, run_jobs):
    broadcasts.do_create_broadcast(db, crowd, BODY, {}, per_minute=60)
    [(job, args)] = held.held

    def second_worker(pause):  # while the first waits, another runs the same broadcast
        if pause == 1:
            clock.on_sleep = None
            with held.app.app_context():
                job(*args)
    clock.on_sleep = second_worker
    held.run_all()
    run_jobs()

    assert got_it(fake_at) == [AMINA, BARAKA, CHEPTOO, DAVID]
    assert db.scalar(select(func.count(OutboundMessage.id))
                     .where(OutboundMessage.purpose == "broadcast")) == 4
