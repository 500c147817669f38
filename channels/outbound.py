"""Every message the shop sends: recorded first, sent by a job, its delivery reports applied.

``queue_message`` adds the record in the caller's transaction; once that commits, one
``deliver_message`` job per recipient sends what the transaction queued for them, in order (a
reply's picture, then its text), retried with backoff while the provider is unavailable. So a
reply, a receipt or a broadcast is never lost with a failed request nor sent for a transaction
that rolled back. Every SMS is written and fitted here, once, as dialog replies are.

What can still go wrong is caught by ``resend_stuck`` (scheduled): a message whose job was
never queued (Redis down at the commit) or whose worker died mid-send is sent again, and one
that runs out of tries ends ``failed`` with its last error.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from channels import sms_render
from channels.context import ChannelServices, services
from channels.messages import (
    SMS, STATUS_RANK, WHATSAPP, DeliveryReport, MessageNotSent, MessageRejected,
)
from channels.models import OutboundMessage
from channels.reach import sms_route
from channels.sms import text_of
from commerce.db import transaction_scoped, utcnow
from commerce.models import Customer, Store

log = logging.getLogger(__name__)

SEND_RETRIES = 3  # after the first attempt, at the job queue's backoff intervals
MAX_ATTEMPTS = SEND_RETRIES + 1  # the try that fails after these is the last: ``failed``
# A queued message waits at most one backoff pause (300 s by default) for its retry; one
# waiting longer lost its job.
QUEUED_STUCK_AFTER = timedelta(minutes=10)
# A send takes at most the provider timeout (10 s) inside RQ's job timeout (180 s). A row left
# ``sending`` far longer lost its worker; it may still have reached the provider just before,
# so it is sent again only after this generous wait: at least once, rather than never.
SENDING_STUCK_AFTER = timedelta(minutes=30)
GIVE_UP_AFTER = timedelta(hours=24)  # a receipt or a sign-in code that late helps nobody
SWEEP_BATCH = 500
# A delivery report can outrun the commit that saves the provider's id: it is kept this long.
EARLY_REPORT_SECONDS = 15 * 60
# Parts an SMS may take: a broadcast's 480 characters need 4 in GSM-7; the rest is fitted to
# what a dialog reply may take.
SMS_PARTS = {"broadcast": 4}
FAILED_STATUSES = ("failed", "undelivered")
# Session.info key: messages to send once the transaction commits. It outlives a savepoint's
# rollback, as what was queued before the savepoint still commits; a message queued inside it
# is then gone, and its job finds nothing queued to claim.
_PENDING = transaction_scoped("duka.outbound")


def queue_message(db: Session, *, channel: str, provider: str, recipient: str, content: dict,
                  purpose: str, store_id: int | None = None, customer_id: int | None = None,
                  dedup_key: str | None = None) -> OutboundMessage | None:
    """Record a message to send after the caller commits; ``None`` when ``dedup_key`` was
    already used (an event relayed twice, a broadcast resumed)."""
    if channel == SMS:
        content = _as_sms(db, content, purpose, store_id, customer_id)
    message = OutboundMessage(store_id=store_id, customer_id=customer_id, channel=channel,
                              provider=provider, recipient=recipient, purpose=purpose,
                              body=text_of(content), content=content, dedup_key=dedup_key)
    if dedup_key is not None:
        if db.scalar(select(OutboundMessage.id).where(OutboundMessage.dedup_key == dedup_key)):
            return None
        try:
            with db.begin_nested():  # a racing twin inserted it first: keep the rest
                db.add(message)
        except IntegrityError:
            return None
    else:
        db.add(message)
        db.flush()
    db.info.setdefault(_PENDING, []).append((message.id, provider, recipient))
    return message


def _as_sms(db: Session, content: dict, purpose: str, store_id: int | None,
            customer_id: int | None) -> dict:
    """``content`` as an SMS carries it: GSM-7 unless the reader's language needs UCS-2, and
    at most its parts long, cut at a word (a reply from ``sms_render`` already is)."""
    body = sms_render.fit_text(text_of(content), _reader_locale(db, store_id, customer_id),
                               SMS_PARTS.get(purpose, sms_render.MAX_PARTS))
    fitted = {"type": "text", "body": body}
    if content.get("from"):
        fitted["from"] = content["from"]
    return fitted


def _reader_locale(db: Session, store_id: int | None, customer_id: int | None) -> str:
    customer = db.get(Customer, customer_id) if customer_id is not None else None
    if customer is not None and customer.locale:
        return customer.locale
    store = db.get(Store, store_id) if store_id is not None else None
    return store.default_locale if store is not None else "en"


def take_committed(db: Session) -> list[tuple[int, ...]]:
    """The messages the just-committed transaction queued, as ``deliver_message`` arguments:
    one job per recipient, their messages in the order queued (``create_app`` sends them)."""
    jobs: dict[tuple[str, str], list[int]] = {}
    for message_id, provider, recipient in db.info.pop(_PENDING, []):
        jobs.setdefault((provider, recipient), []).append(message_id)
    return [tuple(ids) for ids in jobs.values()]


# -- sending ------------------------------------------------------------------------------------
def deliver_message(message_id: int, *then: int) -> None:
    """Job: send recorded messages one after the other (``then`` after ``message_id``), so a
    reply's text never overtakes its picture. Raises (so the queue retries) while a provider
    is unavailable, holding back the messages after it; a refusal, or a failure on the last
    try, is final (``failed``, and a WhatsApp notification goes by SMS instead)."""
    ctx = services()
    with ctx.db() as db:
        for one in (message_id, *then):
            _deliver(db, ctx, one)  # already sent or failed ones are skipped by their claim


def _deliver(db: Session, ctx: ChannelServices, message_id: int) -> None:
    # Claimed by one worker: a job that runs twice (RQ delivers at least once) sends once.
    claimed = db.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id == message_id, OutboundMessage.status == "queued")
        .values(status="sending", attempts=OutboundMessage.attempts + 1)
    ).rowcount
    db.commit()
    if not claimed:
        return
    message = db.get(OutboundMessage, message_id, populate_existing=True)
    if message.purpose != "reply" and _opted_out(db, message.customer_id):
        return _give_up(db, ctx, message, "the customer sent STOP after this was queued",
                        instead=False)
    sender = ctx.senders.get(message.provider)
    try:
        if sender is None:
            raise MessageRejected(f"{message.provider} is not configured on this server")
        provider_id = sender.send(message.recipient, message.content)
    except MessageRejected as error:
        return _give_up(db, ctx, message, str(error))
    except Exception as error:  # MessageNotSent, or anything unexpected: try again later
        if not isinstance(error, MessageNotSent):
            log.exception("sending message %s failed unexpectedly", message_id)
        if message.attempts >= MAX_ATTEMPTS:  # the queue will not try again
            return _give_up(db, ctx, message,
                            f"gave up after {message.attempts} attempts: {error}")
        message.status, message.error = "queued", str(error)[:1000]
        db.commit()
        raise MessageNotSent(f"message {message_id} not sent yet: {error}") from error
    message.status, message.error = "sent", None
    message.provider_message_id = provider_id or None
    db.commit()
    if message.provider_message_id:
        _apply_early_reports(db, ctx, message)


def _give_up(db: Session, ctx: ChannelServices, message: OutboundMessage, why: str,
             instead: bool = True) -> None:
    """``message`` is ``failed`` for good (``instead``: its SMS version is queued, when it is a
    WhatsApp notification). Commits."""
    message.status, message.error = "failed", why[:1000]
    if instead:
        _sms_instead(db, ctx, message)
    db.commit()
    log.error("message %s to %s not sent: %s", message.id, message.recipient, why)


def _sms_instead(db: Session, ctx: ChannelServices, message: OutboundMessage) -> None:
    """Queue the SMS version of a WhatsApp notification WhatsApp would not deliver (outside the
    window, undeliverable, template refused), once. A reply stays where the shopper wrote."""
    if message.channel != WHATSAPP or message.purpose == "reply" or message.customer_id is None:
        return
    customer = db.get(Customer, message.customer_id)
    text = text_of(message.content)
    if customer is None or customer.opted_out_at is not None or not text:
        return
    route = sms_route(ctx, customer.phone, text)
    if queue_message(db, channel=route.channel, provider=route.provider,
                     recipient=route.recipient, content=route.content, purpose=message.purpose,
                     store_id=message.store_id, customer_id=customer.id,
                     dedup_key=f"sms-instead:{message.id}") is not None:
        log.info("WhatsApp message %s failed: sending it by SMS instead", message.id)


def _opted_out(db: Session, customer_id: int | None) -> bool:
    """STOP is honoured at once: even a notification already queued is not sent."""
    if customer_id is None:
        return False
    return db.scalar(select(Customer.opted_out_at).where(Customer.id == customer_id)) is not None


def resend_stuck(now: datetime | None = None) -> int:
    """Scheduled: send again the messages stuck ``queued`` (their job was lost) or ``sending``
    (their worker died) for longer than their timeouts; returns how many. Each is claimed with
    a conditional UPDATE first, so two sweeps never queue the same one twice (and its job's own
    claim keeps it from going out twice). One out of tries or a day old ends ``failed``."""
    ctx = services()
    now = now or utcnow()
    queued_before, sending_before = now - QUEUED_STUCK_AFTER, now - SENDING_STUCK_AFTER
    # Only recent rows (created_at is indexed; status is not): older ones were given up on.
    stuck = and_(OutboundMessage.created_at >= now - 2 * GIVE_UP_AFTER,
                 or_(and_(OutboundMessage.status == "queued",
                          OutboundMessage.updated_at < queued_before),
                     and_(OutboundMessage.status == "sending",
                          OutboundMessage.updated_at < sending_before)))
    jobs: dict[tuple[str, str], list[int]] = {}
    with ctx.db() as db:
        rows = db.execute(select(OutboundMessage.id, OutboundMessage.attempts,
                                 OutboundMessage.created_at, OutboundMessage.provider,
                                 OutboundMessage.recipient)
                          .where(stuck).order_by(OutboundMessage.id).limit(SWEEP_BATCH)).all()
        db.commit()
        for message_id, attempts, created_at, provider, recipient in rows:
            # Still stuck as read (another sweep did not take it meanwhile): claim it.
            claimed = db.execute(update(OutboundMessage)
                                 .where(OutboundMessage.id == message_id, stuck)
                                 .values(status="queued", updated_at=now)).rowcount
            db.commit()
            if not claimed:
                continue
            if attempts >= MAX_ATTEMPTS or now - created_at > GIVE_UP_AFTER:
                message = db.get(OutboundMessage, message_id, populate_existing=True)
                why = (f"gave up after {attempts} attempts" if attempts >= MAX_ATTEMPTS
                       else f"not sent within {GIVE_UP_AFTER}")
                _give_up(db, ctx, message, why + (f": {message.error}" if message.error
                                                  else ""))
                continue
            log.warning("message %s to %s was stuck: sending it again", message_id, recipient)
            jobs.setdefault((provider, recipient), []).append(message_id)
    for ids in jobs.values():  # one job per recipient keeps their messages in order
        ctx.jobs.enqueue(deliver_message, *ids, retries=SEND_RETRIES)
    return sum(map(len, jobs.values()))


# -- delivery reports ---------------------------------------------------------------------------
def record_delivery(db: Session, report: DeliveryReport) -> bool:
    """Apply a provider's delivery report; ``False`` when it names no message of ours (yet). A
    report older than what we know (they arrive out of order) changes nothing.

    A report can arrive before the job that sent the message has saved the provider's id: it
    is kept for a while under that id and applied when the id is saved."""
    message = _by_provider_id(db, report.provider, report.message_id)
    if message is None:
        _keep_early(report)
        # Saved between the look-up and the keeping? Then the job may have looked already.
        message = _by_provider_id(db, report.provider, report.message_id)
        if message is None:
            db.commit()
            return False
    _apply(db, message, report)
    db.commit()
    return True


def _by_provider_id(db: Session, provider: str, message_id: str) -> OutboundMessage | None:
    return db.scalar(select(OutboundMessage).where(
        OutboundMessage.provider == provider, OutboundMessage.provider_message_id == message_id)
        .execution_options(populate_existing=True))


def _apply(db: Session, message: OutboundMessage, report: DeliveryReport) -> None:
    """Move ``message`` forward to ``report``'s status; a WhatsApp notification that failed
    goes by SMS instead. Does not commit."""
    if STATUS_RANK.get(report.status, -1) <= STATUS_RANK.get(message.status, 0):
        return
    message.status = report.status
    if report.error:
        message.error = report.error[:1000]
    if report.status in FAILED_STATUSES:
        _sms_instead(db, services(), message)


def _early_key(provider: str, message_id: str, status: str) -> str:
    # One key per status: two early reports (sent, delivered) never overwrite each other.
    return f"outbound:early-report:{provider}:{message_id}:{status}"


def _keep_early(report: DeliveryReport) -> None:
    if STATUS_RANK.get(report.status, 0) > 0:  # "queued" would change nothing
        services().sessions.set(_early_key(report.provider, report.message_id, report.status),
                                {"error": report.error}, EARLY_REPORT_SECONDS)


def _apply_early_reports(db: Session, ctx: ChannelServices, message: OutboundMessage) -> None:
    """Apply the reports that arrived before ``message``'s provider id was saved. Commits."""
    found = False
    for status, rank in STATUS_RANK.items():
        if rank == 0:
            continue
        key = _early_key(message.provider, message.provider_message_id, status)
        kept = ctx.sessions.get(key)
        if kept is not None:
            ctx.sessions.delete(key)
            _apply(db, message, DeliveryReport(message.provider, message.provider_message_id,
                                               status, kept.get("error", "")))
            found = True
    if found:
        db.commit()
