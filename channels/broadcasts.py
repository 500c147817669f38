"""Broadcasts: one message from the merchant to a segment of customers who agreed to marketing
messages, sent at the merchant's pace, to each person at most once.

``do_create_broadcast`` fixes the recipients (one ``BroadcastRecipient`` row each, pending) and
queues ``send_broadcast``. That job takes one person at a time with a conditional UPDATE
(pending → claimed, so two workers never take the same person), records their message and marks
them sent in that same transaction, then waits before the next. After a time budget it hands
over to a fresh job, so a long broadcast never meets a worker's job timeout; a broadcast whose
worker died is picked up again by the scheduled ``resume_broadcasts``. One worker at a time
paces a broadcast: it holds a lease (a Redis key set with NX and an expiry, renewed as it goes),
so a second job for the same broadcast (a resume while the first lives) leaves it at once
instead of doubling the rate.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import exists, func, insert, select, update
from sqlalchemy.orm import Session

from channels.context import ChannelServices, services
from channels.models import Broadcast, BroadcastRecipient, OutboundMessage
from channels.outbound import queue_message
from channels.reach import reach
from commerce.db import utcnow
from commerce.errors import DomainError
from commerce.jobs import InlineJobs
from commerce.models import Customer, Order, Store

log = logging.getLogger(__name__)

MAX_BODY = 480  # three SMS parts
MAX_PER_MINUTE = 6000
SEGMENT_KEYS = ("locale", "ordered_since", "min_spent")
# Orders that count for "last ordered" and "spent": paid (even if partly refunded since), and
# not cancelled or returned.
COUNTED_FINANCIAL = ("paid", "partially_refunded")
UNCOUNTED_STATUSES = ("draft", "cancelled", "returned")
TIME_BUDGET = timedelta(seconds=45)  # per job, well inside RQ's default 180 s job timeout
# A sending broadcast with no progress for this long lost its worker: the longest healthy gap
# is one pause (at most 60 s at 1 per minute) plus a hand-over to the next job.
STALLED_AFTER = timedelta(minutes=5)
# How long a sender's hold on a broadcast lasts unless renewed (after every message): past
# RQ's 180 s job timeout, so a worker killed by it lets go before STALLED_AFTER resumes.
LEASE_SECONDS = 200

SENDING, DONE, CANCELLED = "sending", "done", "cancelled"  # a recipient may be cancelled too
PENDING, CLAIMED, SENT, SKIPPED = "pending", "claimed", "sent", "skipped"


class InvalidBroadcast(DomainError):
    code = "invalid_broadcast"


class BroadcastFinished(DomainError):
    code = "broadcast_finished"


@dataclass
class Clock:
    """Where the sender reads the time and waits (tests put a fake one in ``CLOCK``)."""

    now: Callable[[], datetime] = utcnow
    sleep: Callable[[float], None] = time.sleep


CLOCK = Clock()


# -- creating -----------------------------------------------------------------------------------
def check_segment(segment: dict | None, store: Store | None = None) -> dict:
    """The segment made clean: ``locale`` (one the store offers), ``ordered_since`` (an ISO
    date: ordered on that day or later, in the store's timezone), ``min_spent`` (minor units
    spent in all, at least). ``{}`` is every consenting customer."""
    if segment is None:
        return {}
    if not isinstance(segment, dict):
        raise InvalidBroadcast("A segment is an object with locale, ordered_since and/or "
                               "min_spent.", field="segment")
    unknown = sorted(set(segment) - set(SEGMENT_KEYS))
    if unknown:
        raise InvalidBroadcast(f"Unknown segment key(s): {', '.join(map(str, unknown))}; use "
                               f"{', '.join(SEGMENT_KEYS)}.", field="segment")
    clean = {}
    if "locale" in segment:
        locale = segment["locale"]
        offered = store.locale_list if store is not None else None
        if not isinstance(locale, str) or not locale.strip() or len(locale) > 10 or (
                offered is not None and locale.strip().lower() not in offered):
            raise InvalidBroadcast("The segment's locale is one of the store's languages"
                                   + (f": {', '.join(offered)}." if offered else "."),
                                   field="segment.locale")
        clean["locale"] = locale.strip().lower()
    if "ordered_since" in segment:
        try:
            clean["ordered_since"] = date.fromisoformat(segment["ordered_since"]).isoformat()
        except (TypeError, ValueError):
            raise InvalidBroadcast("ordered_since is a date like 2026-01-31.",
                                   field="segment.ordered_since") from None
    if "min_spent" in segment:
        spent = segment["min_spent"]
        if not isinstance(spent, int) or isinstance(spent, bool) or spent < 0:
            raise InvalidBroadcast("min_spent is a whole number of minor units, 0 or more.",
                                   field="segment.min_spent")
        clean["min_spent"] = spent
    return clean


def check_broadcast(store: Store, body: str, segment: dict | None,
                    per_minute: int) -> tuple[str, dict, int]:
    body = body.strip() if isinstance(body, str) else ""
    if not body or len(body) > MAX_BODY:
        raise InvalidBroadcast(f"The message must be 1 to {MAX_BODY} characters.", field="body")
    if not isinstance(per_minute, int) or isinstance(per_minute, bool) or \
            not 1 <= per_minute <= MAX_PER_MINUTE:
        raise InvalidBroadcast(f"The rate is 1 to {MAX_PER_MINUTE} messages a minute.",
                               field="per_minute")
    return body, check_segment(segment, store), per_minute


def segment_customers(db: Session, store: Store, segment: dict) -> list[int]:
    """Ids of the store's customers in ``segment`` who agreed to marketing and did not STOP."""
    counted = (Order.customer_id == Customer.id, Order.store_id == store.id,
               Order.financial_status.in_(COUNTED_FINANCIAL),
               Order.status.not_in(UNCOUNTED_STATUSES))
    query = select(Customer.id).where(Customer.store_id == store.id,
                                      Customer.marketing_consent.is_(True),
                                      Customer.opted_out_at.is_(None))
    if "locale" in segment:
        locale = segment["locale"]
        chosen = Customer.locale == locale
        # Customers who never chose a language read the store's default.
        query = query.where(chosen | Customer.locale.is_(None)
                            if locale == store.default_locale else chosen)
    if "ordered_since" in segment:
        since = _start_of_day(store, date.fromisoformat(segment["ordered_since"]))
        query = query.where(exists().where(*counted, Order.created_at >= since))
    if segment.get("min_spent"):
        spent = select(func.coalesce(func.sum(Order.total), 0)).where(*counted)
        query = query.where(spent.scalar_subquery() >= segment["min_spent"])
    return list(db.scalars(query.order_by(Customer.id)))


def _start_of_day(store: Store, day: date) -> datetime:
    try:
        zone = ZoneInfo(store.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return datetime.combine(day, datetime.min.time(), tzinfo=zone)


def do_create_broadcast(db: Session, store: Store, body: str, segment: dict | None,
                        per_minute: int = 60) -> Broadcast:
    """Fix the recipients of a broadcast and start sending it. Commits; nothing is created
    when the body, segment or rate is refused (``InvalidBroadcast``)."""
    body, segment, per_minute = check_broadcast(store, body, segment, per_minute)
    customer_ids = segment_customers(db, store, segment)
    broadcast = Broadcast(store_id=store.id, body=body, segment=segment, per_minute=per_minute,
                          status=SENDING if customer_ids else DONE,
                          recipients=len(customer_ids), sent=0, created_at=CLOCK.now(),
                          finished_at=None if customer_ids else CLOCK.now())
    db.add(broadcast)
    db.flush()
    if customer_ids:
        db.execute(insert(BroadcastRecipient), [
            {"broadcast_id": broadcast.id, "store_id": store.id, "customer_id": customer_id,
             "status": PENDING, "updated_at": broadcast.created_at}
            for customer_id in customer_ids])
    db.commit()
    if customer_ids:
        services().jobs.enqueue(send_broadcast, broadcast.id)
    return broadcast


# -- one sender at a time -----------------------------------------------------------------------
class _RedisLease:
    """``SET key token NX PX``, renewed and released only while the token is still ours (redis-py's
    lock does the compare-and-set in Lua)."""

    def __init__(self, redis, name: str, seconds: int):
        self.lock = redis.lock(f"duka:lease:{name}", timeout=seconds, thread_local=False)

    def take(self) -> bool:
        return self.lock.acquire(blocking=False)

    def renew(self) -> bool:
        try:
            self.lock.reacquire()
            return True
        except Exception:  # LockNotOwnedError: it lapsed, and another worker may hold it
            return False

    def release(self) -> None:
        try:
            self.lock.release()
        except Exception:  # lapsed meanwhile: nothing of ours to release
            pass


class _LocalLease:
    """The same in one process (no Redis: the demo), for its request and scheduler threads."""

    _guard = threading.Lock()

    def __init__(self, held: dict[str, tuple[str, float]], name: str, seconds: int):
        self._held = held  # name -> (token, monotonic expiry), for one app
        self.name, self.seconds, self.token = name, seconds, uuid.uuid4().hex

    def take(self) -> bool:
        with self._guard:
            holder = self._held.get(self.name)
            if holder is not None and holder[1] > time.monotonic():
                return False
            self._held[self.name] = (self.token, time.monotonic() + self.seconds)
            return True

    def renew(self) -> bool:
        with self._guard:
            holder = self._held.get(self.name)
            if holder is None or holder[0] != self.token or holder[1] <= time.monotonic():
                return False
            self._held[self.name] = (self.token, time.monotonic() + self.seconds)
            return True

    def release(self) -> None:
        with self._guard:
            if self._held.get(self.name, ("",))[0] == self.token:
                del self._held[self.name]


_LOCAL_LEASES: WeakKeyDictionary = WeakKeyDictionary()  # an app's session store -> its leases


def _lease(ctx: ChannelServices, broadcast_id: int):
    name = f"broadcast:{broadcast_id}"
    redis = getattr(ctx.sessions, "redis", None)  # the app's Redis, when it has one
    if redis is not None:
        return _RedisLease(redis, name, LEASE_SECONDS)
    with _LocalLease._guard:
        held = _LOCAL_LEASES.setdefault(ctx.sessions, {})
    return _LocalLease(held, name, LEASE_SECONDS)


# -- sending ------------------------------------------------------------------------------------
def send_broadcast(broadcast_id: int, not_before: str | None = None) -> None:
    """Job: send a broadcast's pending messages at its rate, for up to ``TIME_BUDGET``, then
    queue itself to go on (``not_before``: when the next message may go, to keep the pace).
    Leaves at once when another worker is sending this broadcast (it holds the lease)."""
    ctx = services()
    lease = _lease(ctx, broadcast_id)
    if not lease.take():
        log.info("broadcast %s is being sent by another worker", broadcast_id)
        return
    try:
        go_on_at = _send_for_a_while(ctx, lease, broadcast_id, not_before)
    finally:
        lease.release()
    if go_on_at is not None:  # after letting go, so the next job can take the lease
        ctx.jobs.enqueue(send_broadcast, broadcast_id, go_on_at)


def _send_for_a_while(ctx: ChannelServices, lease, broadcast_id: int,
                      not_before: str | None) -> str | None:
    """Send at the broadcast's pace until done, the lease is lost, or the time budget is
    spent; then returns when the next job may send (``None``: no next job)."""
    started = CLOCK.now()
    next_at = datetime.fromisoformat(not_before) if not_before else started
    # Inline jobs (no Redis) have no job timeout to stay under; handing over would only nest.
    hand_over = not isinstance(ctx.jobs, InlineJobs)
    with ctx.db() as db:
        broadcast = db.get(Broadcast, broadcast_id)
        if broadcast is None or broadcast.status != SENDING:
            return None
        store = db.get(Store, broadcast.store_id)
        pause = timedelta(minutes=1) / broadcast.per_minute
        after, sent_here = 0, 0
        while True:
            candidate = _next_pending(db, broadcast.id, after)
            db.commit()  # end the read: no transaction stays open while waiting
            if candidate is None:
                _finish(db, broadcast)
                return None
            if hand_over and sent_here and next_at > started + TIME_BUDGET:
                return next_at.isoformat()
            wait = (next_at - CLOCK.now()).total_seconds()
            if wait > 0:
                CLOCK.sleep(wait)
            if not lease.renew():  # it lapsed: another worker may be pacing it now
                log.warning("broadcast %s: lost the lease, leaving it", broadcast_id)
                return None
            outcome = _send_one(db, ctx, store, broadcast, candidate)
            after = candidate
            if outcome == SENT:
                sent_here += 1
                next_at = CLOCK.now() + pause


def _next_pending(db: Session, broadcast_id: int, after: int) -> int | None:
    # By id from where this run got to: each pick starts past the people already done.
    return db.scalar(select(BroadcastRecipient.id).where(
        BroadcastRecipient.broadcast_id == broadcast_id, BroadcastRecipient.status == PENDING,
        BroadcastRecipient.id > after).order_by(BroadcastRecipient.id).limit(1))


def _send_one(db: Session, ctx: ChannelServices, store: Store, broadcast: Broadcast,
              recipient_id: int) -> str | None:
    """Claim one person, record their message, mark them sent (or skipped): one transaction.

    A worker that dies before the commit leaves them pending, with no message recorded, so a
    resumed run sends it once. A row left ``claimed`` (never committed by this code, but a
    dead worker's claim must never be retried) is not sent again: at most once, never twice.
    """
    now = CLOCK.now()
    claimed = db.execute(
        update(BroadcastRecipient)
        .where(BroadcastRecipient.id == recipient_id, BroadcastRecipient.status == PENDING)
        .values(status=CLAIMED, updated_at=now)
    ).rowcount
    if not claimed:  # another worker took them first
        db.rollback()
        return None
    row = db.get(BroadcastRecipient, recipient_id, populate_existing=True)
    # Read now, not when the broadcast was created: a STOP (or a withdrawn consent) since
    # then is honoured at once.
    customer = db.get(Customer, row.customer_id, populate_existing=True)
    route = None
    if customer is not None and customer.marketing_consent:
        route = reach(db, ctx, store, customer, broadcast.body)
    message = None
    if route is not None:
        message = queue_message(
            db, channel=route.channel, provider=route.provider, recipient=route.recipient,
            content=route.content, purpose="broadcast", store_id=store.id,
            customer_id=customer.id, dedup_key=f"broadcast:{broadcast.id}:{customer.id}")
    row.status = SENT if route is not None else SKIPPED
    row.outbound_message_id = message.id if message is not None else None
    row.updated_at = now
    if message is not None:
        db.execute(update(Broadcast).where(Broadcast.id == broadcast.id)
                   .values(sent=Broadcast.sent + 1))
    db.commit()
    return row.status


def _finish(db: Session, broadcast: Broadcast) -> None:
    """Done once nobody is pending (rows left claimed by a dead worker stay unsent)."""
    still_pending = exists().where(BroadcastRecipient.broadcast_id == broadcast.id,
                                   BroadcastRecipient.status == PENDING)
    db.execute(update(Broadcast)
               .where(Broadcast.id == broadcast.id, Broadcast.status == SENDING, ~still_pending)
               .values(status=DONE, finished_at=CLOCK.now()))
    db.commit()


def do_cancel_broadcast(db: Session, store: Store, broadcast: Broadcast) -> Broadcast:
    """Stop a broadcast: nobody it has not reached yet gets it; commits. Cancelling it again
    changes nothing; one already sent to everyone cannot be cancelled.

    The sender takes a person only while they are pending (``_send_one``), so after this
    commits it finds nobody left and stops; a message it had already taken still goes.
    """
    now = CLOCK.now()
    # The broadcast row first: a sender finishing it at the same moment waits for this row,
    # then finds it no longer sending.
    stopped = db.execute(update(Broadcast)
                         .where(Broadcast.id == broadcast.id, Broadcast.store_id == store.id,
                                Broadcast.status == SENDING)
                         .values(status=CANCELLED, finished_at=now)).rowcount
    if stopped:
        db.execute(update(BroadcastRecipient)
                   .where(BroadcastRecipient.broadcast_id == broadcast.id,
                          BroadcastRecipient.store_id == store.id,
                          BroadcastRecipient.status == PENDING)
                   .values(status=CANCELLED, updated_at=now))
    db.commit()
    db.refresh(broadcast)
    if broadcast.status == DONE:
        raise BroadcastFinished("This broadcast has been sent to everyone already.")
    log.info("store %s: broadcast %s cancelled", store.id, broadcast.id)
    return broadcast


def resume_broadcasts() -> int:
    """Scheduled: queue ``send_broadcast`` again for every broadcast still sending that made
    no progress for ``STALLED_AFTER`` (its worker died); returns how many. Should a live one
    be taken for stalled (a long queue backlog), its lease turns the second job away, so
    neither the pace nor anyone's message is doubled."""
    ctx = services()
    now = CLOCK.now()
    stalled = []
    with ctx.db() as db:
        for broadcast in db.scalars(select(Broadcast).where(Broadcast.status == SENDING)):
            last = db.scalar(select(func.max(BroadcastRecipient.updated_at)).where(
                BroadcastRecipient.broadcast_id == broadcast.id,
                BroadcastRecipient.status != PENDING))
            progress = max(filter(None, (last, broadcast.created_at)))
            if now - progress >= STALLED_AFTER:
                log.warning("broadcast %s made no progress since %s: resuming it",
                            broadcast.id, progress)
                stalled.append(broadcast.id)
    for broadcast_id in stalled:
        ctx.jobs.enqueue(send_broadcast, broadcast_id)
    return len(stalled)


def get_broadcast(db: Session, store: Store, broadcast_id: int) -> Broadcast | None:
    return db.scalar(select(Broadcast).where(Broadcast.id == broadcast_id,
                                             Broadcast.store_id == store.id))


def list_broadcasts(db: Session, store: Store, status: str | None = None):
    """The store's broadcasts, a statement to page through (the API pages by id)."""
    statement = select(Broadcast).where(Broadcast.store_id == store.id)
    return statement if status is None else statement.where(Broadcast.status == status)


DELIVERED, FAILED = ("delivered", "read"), ("failed", "undelivered")  # outbound statuses


def delivery_counts(db: Session, store: Store, broadcast_ids: list[int]) -> dict[int, dict]:
    """Per broadcast: people still pending, messages delivered or failed (from the providers'
    delivery reports), people skipped for having sent STOP, and people a cancel left out; one
    query."""
    counts = {id_: dict(pending=0, delivered=0, failed=0, opted_out=0, cancelled=0)
              for id_ in broadcast_ids}
    if not broadcast_ids:
        return counts
    rows = db.execute(
        select(BroadcastRecipient.broadcast_id, BroadcastRecipient.status,
               OutboundMessage.status, func.count())
        .outerjoin(OutboundMessage, OutboundMessage.id == BroadcastRecipient.outbound_message_id)
        .where(BroadcastRecipient.store_id == store.id,
               BroadcastRecipient.broadcast_id.in_(broadcast_ids))
        .group_by(BroadcastRecipient.broadcast_id, BroadcastRecipient.status,
                  OutboundMessage.status))
    for broadcast_id, status, message_status, number in rows:
        tally = counts[broadcast_id]
        if status == "pending":
            tally["pending"] += number
        elif status == "skipped":
            tally["opted_out"] += number
        elif status == CANCELLED:
            tally["cancelled"] += number
        if message_status in DELIVERED:
            tally["delivered"] += number
        elif message_status in FAILED:
            tally["failed"] += number
    return counts
