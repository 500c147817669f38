"""Messages shoppers send (SMS, WhatsApp): recorded once, then answered by a job.

A webhook calls ``accept`` for each message (a duplicate delivery is dropped by the unique
provider id) and queues ``handle_inbound``; the job finds the store and the customer, applies
``STOP``/``START``, runs the conversation and queues the reply through the gateway the message
came in on.
"""
from __future__ import annotations

import dataclasses
import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from channels import chat, keywords, sms_render
from channels.context import services
from channels.messages import SMS, WHATSAPP, Incoming
from channels.models import InboundMessage
from channels.outbound import queue_message
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


def accept(db: Session, incoming: Incoming) -> int | None:
    """Record ``incoming`` once; its id, or ``None`` when the provider delivered it before."""
    row = InboundMessage(provider=incoming.provider, provider_message_id=incoming.message_id,
                         channel=incoming.channel, sender=incoming.sender or incoming.user_id,
                         recipient=incoming.to, body=incoming.text, payload=_dump(incoming))
    try:
        with db.begin_nested():
            db.add(row)
    except IntegrityError:
        db.rollback()
        return None
    db.commit()
    return row.id


def queue_handling(db: Session, incoming: Incoming) -> bool:
    """``accept`` and queue the answer; ``False`` for a duplicate."""
    inbound_id = accept(db, incoming)
    if inbound_id is None:
        return False
    services().jobs.enqueue(handle_inbound, inbound_id)
    return True


def handle_inbound(inbound_id: int) -> None:
    """Job: answer one message. Not retried (a retry could apply a choice twice): a failure
    gets the shopper a polite apology instead."""
    ctx = services()
    with ctx.db() as db:
        row = db.get(InboundMessage, inbound_id)
        if row is None or row.status == "handled":
            return
        incoming = _load(row.payload)
        try:
            _answer(db, row, incoming)
        except Exception:
            log.exception("could not answer %s message %s", incoming.provider, row.id)
            db.rollback()
            _reply(db, incoming, None, None, [{"type": "text", "body": SORRY}])
        row = db.get(InboundMessage, inbound_id)
        row.status = "handled"
        db.commit()


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
    command = keywords.parse(incoming.text, store.locale_list) if incoming.kind == "text" else None
    if command is not None and command.name in ("stop", "start"):
        customer.opted_out_at = utcnow() if command.name == "stop" else None
        db.commit()
        confirmation = STOPPED if command.name == "stop" else STARTED
        text = turn.t(confirmation, store=store.name)
        return _reply(db, incoming, store, customer, [{"type": "text", "body": text}])
    images = incoming.provider == "whatsapp"  # the Cloud API sends pictures; SMS cannot
    contents = chat.converse(lambda: Turn(db=db, store=store, customer=customer, images=images),
                             incoming.channel, incoming, renderer_for(incoming))
    _reply(db, incoming, store, customer, contents)


def route(db: Session, incoming: Incoming) -> tuple[Store | None, Incoming]:
    """The store a message is for, and the message without the store's keyword.

    SMS: the keyword on a shared short code, or the number dedicated to a store; failing both,
    the store this phone last wrote to on that code. WhatsApp: our number (its id)."""
    if incoming.channel == WHATSAPP:
        return resolve_whatsapp(db, incoming.to), incoming
    store, rest = resolve_sms(db, incoming.to, incoming.text)
    if store is not None:
        # The keyword alone ("MBOGA") opens the menu; with more, the rest is the message.
        if rest != incoming.text.strip():
            incoming = dataclasses.replace(incoming, text=rest or "MENU")
        return store, incoming
    last = db.scalar(
        select(InboundMessage.store_id)
        .where(InboundMessage.provider == incoming.provider,
               InboundMessage.recipient == incoming.to,
               InboundMessage.sender == incoming.sender,
               InboundMessage.store_id.is_not(None))
        .order_by(InboundMessage.id.desc()).limit(1))
    return (db.get(Store, last) if last is not None else None), incoming


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
    for content in contents:
        if content.get("type") == "text" and store is None:
            content = {**content, "body": translate(locale, content["body"])}
        queue_message(db, channel=incoming.channel, provider=incoming.provider,
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
