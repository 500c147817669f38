"""Tables the channels keep for themselves (not the shop's): USSD end-of-session reports, the
messages that came in and went out, notification wording, and broadcasts."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from commerce.db import Base, UtcDateTime, utcnow

SESSION_END_STATUSES = ("Success", "Incomplete", "Failed")


class UssdSessionEnd(Base):
    """Africa's Talking's notification that a USSD session ended, kept for analytics.

    ``status``: ``Success`` (our ``END`` was reached), ``Incomplete`` (the shopper cancelled or
    timed out on a ``CON`` screen), ``Failed`` (AT got an error from us; see ``error_message``).
    One row per session: AT may send the same notification again.
    """

    __tablename__ = "ussd_session_ends"
    __table_args__ = (
        CheckConstraint("status IN ('Success', 'Incomplete', 'Failed')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(String(100), unique=True)
    service_code: Mapped[str] = mapped_column(String(40))
    phone: Mapped[str] = mapped_column(String(32), index=True)  # E.164 when it parses as such
    network_code: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    hops: Mapped[int | None] = mapped_column(Integer)
    input: Mapped[str | None] = mapped_column(Text)  # every input of the session, joined by *
    last_screen: Mapped[str | None] = mapped_column(Text)  # AT's lastAppResponse
    error_message: Mapped[str | None] = mapped_column(Text)
    cost: Mapped[str | None] = mapped_column(String(32))  # as AT writes it: "KES 0.0500"
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


# -- messaging: what came in, what went out, and what the merchant wrote -----------------------
class InboundMessage(Base):
    """An SMS or WhatsApp message a shopper sent, once: providers deliver some twice."""

    __tablename__ = "inbound_messages"
    __table_args__ = (UniqueConstraint("provider", "provider_message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))  # africastalking | twilio | whatsapp
    provider_message_id: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(12))  # sms | whatsapp
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    sender: Mapped[str] = mapped_column(String(80))  # E.164, or a WhatsApp user id
    recipient: Mapped[str] = mapped_column(String(60))  # our short code / number / number id
    body: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict] = mapped_column(JSON, default=dict)  # the ``Incoming``, for the job
    status: Mapped[str] = mapped_column(String(12), default="received")  # received | handled
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


class OutboundMessage(Base):
    """Every message the shop sends, and what the provider last said about it."""

    __tablename__ = "outbound_messages"
    __table_args__ = (UniqueConstraint("provider", "provider_message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(12))  # sms | whatsapp
    provider: Mapped[str] = mapped_column(String(20))  # africastalking | twilio | whatsapp | log
    recipient: Mapped[str] = mapped_column(String(80))
    purpose: Mapped[str] = mapped_column(String(40))  # reply | order.placed | broadcast | ...
    body: Mapped[str] = mapped_column(Text)  # the text, whatever the format
    content: Mapped[dict] = mapped_column(JSON)  # what the sender sends (channels.messages)
    # One message per key ("order.placed:1042:customer"): an event relayed twice sends once.
    dedup_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    status: Mapped[str] = mapped_column(String(12), default="queued")
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class MessageTemplate(Base):
    """A merchant's own wording of a notification in one language (the default is in code).

    ``whatsapp_template`` names the approved WhatsApp template (or Twilio ContentSid) to use
    outside the 24-hour window; its parameters are the template's placeholders in order.
    """

    __tablename__ = "message_templates"
    __table_args__ = (UniqueConstraint("store_id", "name", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))  # order.placed, payment.completed, ...
    locale: Mapped[str] = mapped_column(String(10))
    body: Mapped[str] = mapped_column(Text)
    whatsapp_template: Mapped[str | None] = mapped_column(String(120))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class Broadcast(Base):
    """One message to a segment of consenting customers, sent at a limited rate."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    segment: Mapped[dict] = mapped_column(JSON, default=dict)  # locale, ordered_since, min_spent
    per_minute: Mapped[int] = mapped_column(Integer, default=60)
    status: Mapped[str] = mapped_column(String(12), default="sending")  # sending | done
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    sent: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class BroadcastRecipient(Base):
    """A customer's place in a broadcast: claimed before sending, so nobody gets it twice."""

    __tablename__ = "broadcast_recipients"
    __table_args__ = (UniqueConstraint("broadcast_id", "customer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id"), index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    # pending -> claimed -> sent, or skipped (opted out meanwhile)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    outbound_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_messages.id"))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
