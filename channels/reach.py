"""How to reach a customer with a notification: WhatsApp when we may, SMS otherwise, nothing
after STOP.

WhatsApp lets a business write freely only within 24 hours of the customer's last message
(channels.md §4.5); outside that window only an approved template goes through. So a
notification goes by WhatsApp free-form inside the window, by the merchant's approved template
outside it, and by SMS when neither is possible (no template, WhatsApp off, or the customer
never wrote on WhatsApp).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.context import ChannelServices
from channels.messages import SMS, WHATSAPP
from commerce.db import utcnow
from commerce.models import ChannelAddress, Customer, Store

WHATSAPP_WINDOW = timedelta(hours=24)  # free-form messages since the customer's last one


@dataclass(frozen=True)
class Approved:
    """An approved WhatsApp template (or Twilio ContentSid) and its parameters, in order."""

    name: str
    language: str
    params: tuple[str, ...]


@dataclass(frozen=True)
class Route:
    channel: str  # SMS | WHATSAPP
    provider: str  # a key of ``ChannelServices.senders``
    recipient: str  # E.164; the senders adapt it (the Cloud API drops the "+")
    content: dict  # channels.messages content, with "from" when the sender needs one


def reach(db: Session, ctx: ChannelServices, store: Store, customer: Customer, text: str,
          approved: Approved | None = None, *, sms_to: str | None = None,
          now: datetime | None = None) -> Route | None:
    """The route for ``text`` to ``customer``; ``None`` after they sent STOP. ``sms_to``
    sends an SMS to another number of theirs (the phone a payment was asked from)."""
    if customer.opted_out_at is not None:
        return None
    via = customer.whatsapp_via
    ours = whatsapp_address(db, store, via) if whatsapp_on(ctx, via) else None
    if ours is not None:
        if in_window(customer, now):
            return Route(WHATSAPP, via, customer.phone,
                         {"type": "text", "body": text, "from": ours})
        if approved is not None:
            return Route(WHATSAPP, via, customer.phone, {
                "type": "template", "name": approved.name, "language": approved.language,
                "params": list(approved.params), "body": text, "from": ours})
    return sms_route(ctx, sms_to or customer.phone, text)


def sms_route(ctx: ChannelServices, phone: str, text: str) -> Route:
    """An SMS through the platform's SMS provider (merchants are always reached this way)."""
    content = {"type": "text", "body": text}
    if ctx.sms_from:
        content["from"] = ctx.sms_from
    return Route(SMS, ctx.sms_provider, phone, content)


def whatsapp_on(ctx: ChannelServices, via: str | None) -> bool:
    """Whether this server can send WhatsApp through gateway ``via``: its sender exists only
    when its credentials are all set (``WHATSAPP_TOKEN`` for the Cloud API, Twilio's account).
    The number to send from is the store's (``whatsapp_address``); without both, WhatsApp is
    off for notifications, never half on."""
    return via in ("whatsapp", "twilio") and ctx.senders.get(via) is not None


def in_window(customer: Customer, now: datetime | None = None) -> bool:
    seen = customer.whatsapp_seen_at
    return seen is not None and (now or utcnow()) - seen < WHATSAPP_WINDOW


def whatsapp_address(db: Session, store: Store, via: str | None) -> str | None:
    """What the store's WhatsApp messages come from through gateway ``via``: a Cloud API
    phone-number id (digits), or ``whatsapp:+E164`` for a Twilio number."""
    if via not in ("whatsapp", "twilio"):
        return None
    for address in db.scalars(select(ChannelAddress.address).where(
            ChannelAddress.store_id == store.id, ChannelAddress.channel == WHATSAPP)
            .order_by(ChannelAddress.id)):
        if via == "whatsapp" and address.isdigit():
            return address
        if via == "twilio" and address.startswith("+"):
            return f"whatsapp:{address}"
    return None


_WHATSAPP_SETTINGS = ("WHATSAPP_PHONE_NUMBER_ID", "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN")


def whatsapp_config_warnings(config) -> list[str]:
    """What is wrong with the WhatsApp Cloud API settings, in words for the start-up log: a
    channel with some settings but not the rest is off (or one-way), never silently half on."""
    token = str(config.get("WHATSAPP_TOKEN") or "").strip()
    given = [name for name in _WHATSAPP_SETTINGS if str(config.get(name) or "").strip()]
    if not token and given:
        return [f"WhatsApp is OFF: {', '.join(given)} set but WHATSAPP_TOKEN is not, so "
                "nothing can be sent on WhatsApp; notifications go by SMS and WhatsApp "
                "messages get no answer. Set WHATSAPP_TOKEN (and WHATSAPP_APP_SECRET) to "
                "turn it on, or unset the others."]
    if token and "WHATSAPP_APP_SECRET" not in given:
        return ["WhatsApp is one-way: WHATSAPP_TOKEN is set but WHATSAPP_APP_SECRET is not, so "
                "the webhook refuses shoppers' WhatsApp messages (notifications still go out)."]
    return []
