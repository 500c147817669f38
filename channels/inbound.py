"""Messages shoppers send (SMS, WhatsApp): recorded once, then answered by a job.

A webhook checks each message's lengths (``check_lengths``), calls ``accept`` (a duplicate
delivery is dropped by the unique provider id, unless the first was never answered) and queues
``handle_inbound``; the job claims the message, finds the store and the customer, applies
``STOP``/``START``, runs the conversation and queues the reply through the gateway the message
came in on. ``requeue_stale_messages`` (a timed job) queues again what was recorded but whose
job was lost.
"""
from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from channels import chat, keywords, sms_render
from channels.context import services
from channels.messages import SMS, WHATSAPP, Incoming
from channels.models import InboundMessage, OutboundMessage
from channels.outbound import queue_message
from channels.paging import HOME_KEY
from channels.whatsapp import render as whatsapp_render
from commerce.customers import get_or_create_customer
from commerce.db import utcnow
from commerce.errors import InvalidPhoneNumber
from commerce.models import Customer, Store
from commerce.phones import to_e164
from commerce.stores import resolve_sms, resolve_whatsapp
from dialogs import Turn
from dialogs.i18n import translate
from dialogs.text import N_

log = logging.getLogger(__name__)

NO_STORE_SMS = N_("Sorry, we could not tell which shop this is for. Please start your message "
                  "with the shop's keyword.")
NO_STORE_WHATSAPP = N_("Sorry, this number is not linked to a shop yet.")
STOPPED = N_("You will get no more messages from {store}. Send START to get them again.")
STARTED = N_("Welcome back! {store} will send you messages again. Send STOP to end them.")
CHOOSE = N_("Choose")  # the button that opens a WhatsApp list
SORRY = N_("Sorry, something went wrong. Please send your message again in a moment.")


# A message's life: recorded as received, claimed by one job (handling), then handled.
RECEIVED, HANDLING, HANDLED = "received", "handling", "handled"
STALE_AFTER = timedelta(minutes=1)  # received and not taken up by then: its job was lost
TOO_OLD = timedelta(days=1)  # the conversation has expired: answering now would only confuse
SWEEP_BATCH = 500

MAX_TEXT = 4096  # WhatsApp's longest text; more than any SMS a phone sends
MAX_FIELD = 1024  # any other field a gateway posts: dates, network codes, media links...
# What an ``Incoming`` may hold: the columns it is stored in (a longer value fails the insert
# on PostgreSQL), and for what no column bounds, what a genuine message never exceeds.
LIMITS = {
    "message_id": InboundMessage.__table__.c.provider_message_id.type.length,
    "sender": InboundMessage.__table__.c.sender.type.length,
    "to": InboundMessage.__table__.c.recipient.type.length,
    # A WhatsApp user id is also a customer's and, with no number, a reply's recipient.
    "user_id": min(InboundMessage.__table__.c.sender.type.length,
                   Customer.__table__.c.whatsapp_user_id.type.length,
                   OutboundMessage.__table__.c.recipient.type.length),
    "text": MAX_TEXT, "choice": MAX_FIELD, "name": MAX_FIELD,
}


class TooLong(ValueError):
    """A field longer than we can keep: the webhook answers 400 and records nothing."""


def check_lengths(incoming: Incoming, wire_names: dict[str, str]) -> None:
    """Raise ``TooLong`` naming the provider's field (``wire_names``: our name -> theirs)."""
    for name, most in LIMITS.items():
        if len(getattr(incoming, name) or "") > most:
            field = wire_names.get(name, name)
            raise TooLong(f"The field {field} is too long: at most {most} characters.")


def check_form_lengths(form, long_fields: tuple[str, ...] = ()) -> None:
    """Every field of a gateway's form within ``MAX_FIELD`` (``long_fields``: ``MAX_TEXT``)."""
    for name in form:
        most = MAX_TEXT if name in long_fields else MAX_FIELD
        if len(name) > MAX_FIELD or any(len(value) > most for value in form.getlist(name)):
            raise TooLong(f"The field {name[:40]} is too long: at most {most} characters.")


def accept(db: Session, incoming: Incoming) -> int | None:
    """Record ``incoming`` once; its id to answer, or ``None`` when it needs no answer.

    A provider's second delivery of a message is dropped, unless the first is still waiting
    to be answered: then its job may have been lost (Redis down as it was queued), so the
    retry gets the message answered."""
    row = InboundMessage(provider=incoming.provider, provider_message_id=incoming.message_id,
                         channel=incoming.channel, sender=incoming.sender or incoming.user_id,
                         recipient=incoming.to, body=incoming.text, payload=_dump(incoming))
    try:
        with db.begin_nested():
            db.add(row)
    except IntegrityError:
        db.rollback()
        return db.scalar(select(InboundMessage.id).where(
            InboundMessage.provider == incoming.provider,
            InboundMessage.provider_message_id == incoming.message_id,
            InboundMessage.status == RECEIVED))
    db.commit()
    return row.id


def queue_handling(db: Session, incoming: Incoming) -> bool:
    """``accept`` and queue the answer; ``False`` for a duplicate. A message recorded but not
    queued (the job queue is down) is still accepted: ``requeue_stale_messages`` queues it."""
    inbound_id = accept(db, incoming)
    if inbound_id is None:
        return False
    _queue(inbound_id)
    return True


def _queue(inbound_id: int) -> None:
    try:
        services().jobs.enqueue(handle_inbound, inbound_id)
    except Exception:  # e.g. Redis down: the row stays received, and the sweep retries
        log.exception("could not queue the answer to inbound message %s", inbound_id)


def requeue_stale_messages() -> int:
    """Timed job: queue again the messages recorded but never taken up by a job (it was lost:
    Redis was down when it was queued, or it was flushed). How many were queued."""
    now = utcnow()
    with services().db() as db:
        ids = db.scalars(
            select(InboundMessage.id)
            .where(InboundMessage.status == RECEIVED,
                   InboundMessage.received_at < now - STALE_AFTER,
                   InboundMessage.received_at > now - TOO_OLD)
            .order_by(InboundMessage.id).limit(SWEEP_BATCH)).all()
    for inbound_id in ids:
        _queue(inbound_id)
    if ids:
        log.warning("queued %d inbound message(s) again whose job was lost", len(ids))
    return len(ids)


def handle_inbound(inbound_id: int) -> None:
    """Job: answer one message. Not retried (a retry could apply a choice twice): a failure
    gets the shopper a polite apology instead."""
    ctx = services()
    with ctx.db() as db:
        if not _claim(db, inbound_id):
            return
        row = db.get(InboundMessage, inbound_id)
        incoming = _load(row.payload)
        try:
            _answer(db, row, incoming)
        except Exception:
            log.exception("could not answer %s message %s", incoming.provider, row.id)
            db.rollback()
            _reply(db, incoming, None, None, [{"type": "text", "body": SORRY}])
        row = db.get(InboundMessage, inbound_id)
        row.status = HANDLED
        db.commit()


def _claim(db: Session, inbound_id: int) -> bool:
    """Take the message for this job alone. Two jobs may be queued for one message (a
    provider's retry, the sweep): only the one whose update finds it still received answers."""
    claimed = db.execute(
        update(InboundMessage)
        .where(InboundMessage.id == inbound_id, InboundMessage.status == RECEIVED)
        .values(status=HANDLING)).rowcount
    db.commit()
    return bool(claimed)


def _answer(db: Session, row: InboundMessage, incoming: Incoming) -> None:
    store, incoming = route(db, incoming)
    if store is None:
        text = NO_STORE_SMS if incoming.channel == SMS else NO_STORE_WHATSAPP
        return _reply(db, incoming, None, None, [{"type": "text", "body": text}])
    row.store_id = store.id
    customer = find_customer(db, store, incoming)
    if customer is None:  # a WhatsApp user id we never saw with a number: nobody to serve
        log.warning("WhatsApp message %s has no number and an unknown user id", row.id)
        return None
    turn = Turn(db=db, store=store, customer=customer)
    # Only the word alone: "Stop 5, Moi Avenue" is an address, not an opt-out.
    opting = (keywords.opt_command(incoming.text, store.locale_list)
              if incoming.kind == "text" else None)
    if opting is not None:
        customer.opted_out_at = utcnow() if opting == "stop" else None
        db.commit()
        confirmation = STOPPED if opting == "stop" else STARTED
        text = turn.t(confirmation, store=store.name)
        return _reply(db, incoming, store, customer, [{"type": "text", "body": text}])
    images = incoming.provider == "whatsapp"  # the Cloud API sends pictures; SMS cannot
    contents = chat.converse(lambda: Turn(db=db, store=store, customer=customer, images=images),
                             incoming.channel, incoming, renderer_for(incoming))
    _reply(db, incoming, store, customer, contents)


def route(db: Session, incoming: Incoming) -> tuple[Store | None, Incoming]:
    """The store a message is for, and the message without the store's keyword.

    SMS: the keyword on a shared short code, or the number dedicated to a store; failing both,
    the store this phone last wrote to on that code, or else the store whose message (a
    notification) it got last from that code: its STOP must reach that store. WhatsApp: our
    number (its id)."""
    if incoming.channel == WHATSAPP:
        return resolve_whatsapp(db, incoming.to), incoming
    store, rest = resolve_sms(db, incoming.to, incoming.text)
    if store is not None:
        # The keyword alone ("MBOGA") goes home, even from a screen waiting for typed text
        # (where "MENU" would be the answer); with more, the rest is the message.
        if rest != incoming.text.strip():
            incoming = dataclasses.replace(incoming, text=rest or HOME_KEY)
        return store, incoming
    last = db.scalar(
        select(InboundMessage.store_id)
        .where(InboundMessage.provider == incoming.provider,
               InboundMessage.recipient == incoming.to,
               InboundMessage.sender == incoming.sender,
               InboundMessage.store_id.is_not(None))
        .order_by(InboundMessage.id.desc()).limit(1))
    if last is None:
        last = _store_that_wrote_last(db, incoming)
    return (db.get(Store, last) if last is not None else None), incoming


RECEIVED_BY_PHONE = ("sent", "delivered", "read")  # outbound statuses: the phone got it
LOOK_BACK = 20  # outbound messages to the phone looked at for one from our address


def _store_that_wrote_last(db: Session, incoming: Incoming) -> int | None:
    """The store of the latest message we sent this phone on the message's channel, from the
    address it wrote to (or from the gateway's default sender, which replies also reach)."""
    phones = {incoming.sender}
    try:
        phones.add(to_e164(incoming.sender, "ZZ"))  # "+254 712..." as we record numbers
    except InvalidPhoneNumber:
        pass
    rows = db.execute(
        select(OutboundMessage.store_id, OutboundMessage.content)
        .where(OutboundMessage.channel == incoming.channel,
               OutboundMessage.provider == incoming.provider,
               OutboundMessage.recipient.in_(phones),
               OutboundMessage.status.in_(RECEIVED_BY_PHONE),
               OutboundMessage.store_id.is_not(None))
        .order_by(OutboundMessage.id.desc()).limit(LOOK_BACK))
    for store_id, content in rows:
        if (content or {}).get("from") in (None, "", incoming.to):
            return store_id
    return None


def find_customer(db: Session, store: Store, incoming: Incoming) -> Customer | None:
    """The customer by phone number (created on first contact), or by WhatsApp user id when
    the message came without a number. WhatsApp also opens (or renews) the 24-hour window."""
    customer = None
    if incoming.sender:
        try:
            customer = get_or_create_customer(db, store, to_e164(incoming.sender,
                                                                 store.country))
        except InvalidPhoneNumber:
            log.warning("unreadable sender %r", incoming.sender)
    if customer is None and incoming.user_id:
        customer = db.scalar(select(Customer).where(
            Customer.store_id == store.id, Customer.whatsapp_user_id == incoming.user_id))
    if customer is not None and incoming.channel == WHATSAPP:
        customer.whatsapp_via = incoming.provider
        customer.whatsapp_seen_at = incoming.received_at or utcnow()
        if incoming.user_id:
            customer.whatsapp_user_id = incoming.user_id
        if incoming.name and not customer.name:
            customer.name = incoming.name[:120]
        db.commit()
    return customer


class WhatsAppRenderer:
    """Buttons and lists on the Cloud API; numbered text through Twilio, which needs
    pre-approved templates for anything interactive."""

    def __init__(self, interactive: bool):
        self.interactive = interactive

    def render(self, reply, page: int, labels, locale: str) -> list[dict]:
        return whatsapp_render.render(reply, page, labels, interactive=self.interactive,
                                      list_button=translate(locale, CHOOSE))

    def page_count(self, reply, labels, locale: str) -> int:
        return whatsapp_render.page_count(reply, interactive=self.interactive)

    def page_showing(self, reply, choice_ids: list[str], labels, locale: str) -> int:
        return whatsapp_render.page_showing(reply, choice_ids, interactive=self.interactive)


def renderer_for(incoming: Incoming):
    if incoming.channel == SMS:
        return sms_render
    return WhatsAppRenderer(interactive=incoming.provider == "whatsapp")


def _reply(db: Session, incoming: Incoming, store: Store | None, customer: Customer | None,
           contents: list[dict]) -> None:
    locale = (customer.locale if customer is not None and customer.locale else
              store.default_locale if store is not None else "en")
    ours = incoming.to
    if incoming.provider == "twilio" and incoming.channel == WHATSAPP:
        ours = f"whatsapp:{incoming.to}"
    recipient = incoming.sender or incoming.user_id
    provider = incoming.provider
    if incoming.channel == SMS and provider not in services().senders:
        provider = "log"  # the demo, with no SMS account: the reply is written to the log
    for content in contents:
        if content.get("type") == "text" and store is None:
            content = {**content, "body": translate(locale, content["body"])}
        queue_message(db, channel=incoming.channel, provider=provider,
                      recipient=recipient, content={**content, "from": ours}, purpose="reply",
                      store_id=store.id if store is not None else None,
                      customer_id=customer.id if customer is not None else None)
    db.commit()


def _dump(incoming: Incoming) -> dict:
    data = dataclasses.asdict(incoming)
    data["received_at"] = incoming.received_at.isoformat() if incoming.received_at else None
    return data


def _load(data: dict) -> Incoming:
    data = dict(data)
    if data.get("received_at"):
        data["received_at"] = datetime.fromisoformat(data["received_at"])
    data["location"] = tuple(data["location"]) if data.get("location") else None
    data["order_items"] = tuple(tuple(item) for item in data.get("order_items") or ())
    return Incoming(**data)
