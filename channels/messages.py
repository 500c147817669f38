"""What every messaging gateway (Africa's Talking SMS, Twilio, WhatsApp Cloud) is turned into at
the edge, and what is handed back to it to send.

An adapter parses its provider's webhook into ``Incoming`` messages and ``DeliveryReport``s, and
sends ``content`` dicts through a ``MessageSender``. Everything between (stores, customers,
dialogs, the outbound record) never sees a wire format.

Content dicts (what a renderer makes and a sender sends):

- ``{"type": "text", "body": str}``
- ``{"type": "buttons", "body": str, "buttons": [{"id", "title"}]}``  (WhatsApp, at most 3)
- ``{"type": "list", "body": str, "button": str, "rows": [{"id", "title", "description"}]}``
- ``{"type": "image", "link": str, "caption": str}``
- ``{"type": "template", "name": str, "language": str, "params": [str, ...], "body": str}``
  (``body`` is the same text filled in, kept for the record and for an SMS fallback)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

SMS, WHATSAPP = "sms", "whatsapp"
# Normalised delivery statuses, in the order a message moves through them. A report never
# moves a message backwards: providers deliver status callbacks out of order.
STATUS_RANK = {"queued": 0, "sent": 1, "delivered": 2, "undelivered": 2, "failed": 2, "read": 3}


@dataclass(frozen=True)
class Incoming:
    """One message a shopper sent, as any gateway delivers it."""

    provider: str  # "africastalking" | "twilio" | "whatsapp"
    channel: str  # SMS | WHATSAPP
    message_id: str  # the provider's id: the deduplication key
    sender: str  # E.164 phone number ("+2547..."), or "" when the provider gave none
    to: str  # our address: short code, Twilio number, or WhatsApp phone-number id
    kind: str = "text"  # text | choice | location | order | unsupported
    text: str = ""  # what was typed (or a button's title)
    choice: str = ""  # an interactive reply's id / a template button's payload
    user_id: str = ""  # WhatsApp business-scoped user id (BSUID) when given
    name: str = ""  # profile name when given
    location: tuple[float, float] | None = None
    order_items: tuple[tuple[str, int], ...] = ()  # (product_retailer_id = SKU, quantity)
    received_at: datetime | None = None
    raw: dict = field(default_factory=dict, compare=False)  # the message as received


@dataclass(frozen=True)
class DeliveryReport:
    """A provider's word on a message we sent, by the id it gave us when we sent it."""

    provider: str
    message_id: str
    status: str  # one of STATUS_RANK
    error: str = ""


class MessageNotSent(Exception):
    """A send that may work if tried again later (timeout, 5xx, rate limit)."""


class MessageRejected(Exception):
    """A send that will never work as it is (bad number, outside the WhatsApp window, ...)."""


class MessageSender(Protocol):
    provider: str

    def send(self, to: str, content: dict) -> str:
        """Send ``content`` to ``to`` (E.164, or a WhatsApp id); returns the provider's message
        id. Raises ``MessageNotSent`` or ``MessageRejected``."""
        ...
