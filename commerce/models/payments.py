from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from commerce.db import Base, UtcDateTime, utcnow


class PaymentGateway(Base):
    """A store's own account at a payment provider (its till, paybill or API keys).

    ``settings`` holds what may be shown (a shortcode, a target environment); ``secrets`` holds
    the rest as Fernet ciphertext (``payments.secrets``) and is never returned by any API.
    ``callback_token`` is the unguessable path segment of the provider's callback URL: M-Pesa
    and MoMo sign nothing, so the token says which store a callback is for. ``simulated`` marks
    the demo's pretend M-Pesa, which only a demo server will use.
    """

    __tablename__ = "payment_gateways"
    __table_args__ = (UniqueConstraint("store_id", "provider"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    provider: Mapped[str] = mapped_column(String(30))  # mpesa | momo | paystack | flutterwave
    enabled: Mapped[bool] = mapped_column(default=True)
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    secrets: Mapped[str] = mapped_column(Text, default="")
    callback_token: Mapped[str] = mapped_column(String(64), unique=True)
    simulated: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class PaymentCallback(Base):
    """Every callback a provider sent us, once.

    ``dedup_key`` is unique per provider and is inserted in the same transaction as the change
    the callback makes, so a callback delivered twice is applied once. ``outcome`` says what
    became of it: ``applied``, ``stale`` (the payment had already settled), ``flagged`` (the
    amount or currency did not match: kept for a person to look at, not applied) or ``ignored``.
    """

    __tablename__ = "payment_callbacks"
    __table_args__ = (UniqueConstraint("provider", "dedup_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    provider: Mapped[str] = mapped_column(String(30))
    dedup_key: Mapped[str] = mapped_column(String(200))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(300), default="")
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
