"""Every message the shop sends: recorded first, sent by a job, its delivery reports applied.

``queue_message`` adds the record in the caller's transaction; once that commits, a
``deliver_message`` job per message sends it (retried with backoff when the provider is
unavailable), so a reply, a receipt or a broadcast is never lost with a failed request nor
sent for a transaction that rolled back.
"""
from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from channels.context import services
from channels.messages import (
    STATUS_RANK, DeliveryReport, MessageNotSent, MessageRejected,
)
from channels.models import OutboundMessage
from channels.sms import text_of
from commerce.models import Customer

log = logging.getLogger(__name__)

SEND_RETRIES = 3  # after the first attempt, at the job queue's backoff intervals
_PENDING = "duka.outbound"  # Session.info key: messages to send once the transaction commits


def queue_message(db: Session, *, channel: str, provider: str, recipient: str, content: dict,
                  purpose: str, store_id: int | None = None, customer_id: int | None = None,
                  dedup_key: str | None = None) -> OutboundMessage | None:
    """Record a message to send after the caller commits; ``None`` when ``dedup_key`` was
    already used (an event relayed twice, a broadcast resumed)."""
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
    db.info.setdefault(_PENDING, []).append(message.id)
    return message


def take_committed(db: Session) -> list[int]:
    """The messages the just-committed transaction queued (``create_app`` sends them)."""
    return db.info.pop(_PENDING, [])


def forget_rolled_back(db: Session) -> None:
    db.info.pop(_PENDING, None)


def deliver_message(message_id: int) -> None:
    """Job: send one recorded message. Raises (so the queue retries) while the provider is
    unavailable; a refusal is final and recorded as ``failed``."""
    ctx = services()
    with ctx.db() as db:
        # Claimed by one worker: a job that runs twice (RQ delivers at least once) sends once.
        claimed = db.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == message_id, OutboundMessage.status == "queued")
            .values(status="sending", attempts=OutboundMessage.attempts + 1)
        ).rowcount
        db.commit()
        if not claimed:
            return
        message = db.get(OutboundMessage, message_id)
        sender = ctx.senders.get(message.provider)
        try:
            if message.purpose != "reply" and _opted_out(db, message.customer_id):
                raise MessageRejected("the customer sent STOP after this was queued")
            if sender is None:
                raise MessageRejected(f"{message.provider} is not configured on this server")
            provider_id = sender.send(message.recipient, message.content)
        except MessageRejected as error:
            message.status, message.error = "failed", str(error)[:1000]
            db.commit()
            log.error("message %s to %s refused: %s", message_id, message.recipient, error)
            return
        except Exception as error:  # MessageNotSent, or anything unexpected: try again later
            message.status, message.error = "queued", str(error)[:1000]
            db.commit()
            if not isinstance(error, MessageNotSent):
                log.exception("sending message %s failed unexpectedly", message_id)
            raise MessageNotSent(f"message {message_id} not sent yet: {error}") from error
        message.status, message.error = "sent", None
        message.provider_message_id = provider_id or None
        db.commit()


def _opted_out(db: Session, customer_id: int | None) -> bool:
    """STOP is honoured at once: even a notification already queued is not sent."""
    if customer_id is None:
        return False
    return db.scalar(select(Customer.opted_out_at).where(Customer.id == customer_id)) is not None


def record_delivery(db: Session, report: DeliveryReport) -> bool:
    """Apply a provider's delivery report; ``False`` when it names no message of ours. A report
    older than what we know (they arrive out of order) changes nothing."""
    message = db.scalar(select(OutboundMessage).where(
        OutboundMessage.provider == report.provider,
        OutboundMessage.provider_message_id == report.message_id))
    if message is None:
        return False
    if STATUS_RANK.get(report.status, -1) > STATUS_RANK.get(message.status, 0):
        message.status = report.status
        if report.error:
            message.error = report.error[:1000]
    db.commit()
    return True
