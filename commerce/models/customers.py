from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from commerce.db import Base, UtcDateTime, utcnow


class Customer(Base):
    """A phone number within a store: the same person on every channel."""

    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("store_id", "phone"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    phone: Mapped[str] = mapped_column(String(20))  # E.164
    name: Mapped[str] = mapped_column(String(120), default="")
    locale: Mapped[str | None] = mapped_column(String(10))
    marketing_consent: Mapped[bool] = mapped_column(default=False)
    consent_updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Sent STOP: no notification, reminder or broadcast on any channel until START.
    opted_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # WhatsApp: the business-scoped user id (for messages that come without a number), the
    # gateway they last wrote through, and when: free-form messages only within 24 h of it.
    whatsapp_user_id: Mapped[str | None] = mapped_column(String(80), index=True)
    whatsapp_via: Mapped[str | None] = mapped_column(String(20))  # "whatsapp" | "twilio"
    whatsapp_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    addresses: Mapped[list[Address]] = relationship(order_by="Address.id")  # when asked for


class Address(Base):
    """Free text with a landmark: how addresses work where streets have no numbers."""

    __tablename__ = "addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    label: Mapped[str] = mapped_column(String(40), default="")  # "Home", "Duka"
    text: Mapped[str] = mapped_column(String(300))  # "Kawangware, stage 56, blue gate"
    landmark: Mapped[str] = mapped_column(String(200), default="")  # "opposite Naivas"
    town: Mapped[str] = mapped_column(String(80), default="")  # matched to shipping zones
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
