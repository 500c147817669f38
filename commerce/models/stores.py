from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Integer, Numeric, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from commerce.db import Base, UtcDateTime, utcnow
from commerce.money import Money


class Store(Base):
    """A tenant: one merchant's shop, selling in one currency."""

    __tablename__ = "stores"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    currency: Mapped[str] = mapped_column(String(3))
    country: Mapped[str] = mapped_column(String(2))  # ISO 3166 region: how local numbers are read
    default_locale: Mapped[str] = mapped_column(String(10), default="en")
    locales: Mapped[str] = mapped_column(String(60), default="en")  # comma-separated, offered
    timezone: Mapped[str] = mapped_column(String(60), default="UTC")
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    # {"mon": [["08:00", "18:00"]], ...} in the store's timezone; a missing day is closed.
    opening_hours: Mapped[dict | None] = mapped_column(JSON)
    tax_rate_bp: Mapped[int] = mapped_column(Integer, default=0)  # basis points: 1600 = 16 %
    prices_include_tax: Mapped[bool] = mapped_column(default=True)
    # Cash on delivery (or at pickup) is offered at checkout only when this is on.
    accepts_cash: Mapped[bool] = mapped_column(default=True, server_default=true())
    reservation_minutes: Mapped[int] = mapped_column(Integer, default=15)
    abandoned_cart_minutes: Mapped[int] = mapped_column(Integer, default=60)
    low_stock_threshold: Mapped[int] = mapped_column(Integer, default=5)
    # Per-store order numbers (#1001, #1002, ...), handed out by one atomic UPDATE.
    next_order_number: Mapped[int] = mapped_column(Integer, default=1001)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    def money(self, amount: int) -> Money:
        return Money(amount, self.currency)

    @property
    def locale_list(self) -> list[str]:
        return [code for code in self.locales.split(",") if code]


class ChannelAddress(Base):
    """Where shoppers reach a store.

    ``channel`` is ``ussd``, ``sms`` or ``whatsapp``; ``address`` the service code, short code or
    WhatsApp phone-number id; ``selector`` narrows a shared address: the store number on a
    shared USSD code (``*384*500*45#`` → ``45``) or the SMS keyword (``MBOGA``). A dedicated USSD
    code has selector ``""``.
    """

    __tablename__ = "channel_addresses"
    __table_args__ = (UniqueConstraint("channel", "address", "selector"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(60))
    selector: Mapped[str] = mapped_column(String(30), default="")


class ExchangeRate(Base):
    """Display-only conversion from the store's currency; customers are charged in the store's."""

    __tablename__ = "exchange_rates"
    __table_args__ = (UniqueConstraint("store_id", "quote"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    quote: Mapped[str] = mapped_column(String(3))  # 1 unit of store currency = rate x quote
    rate: Mapped[Decimal] = mapped_column(Numeric(24, 10))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
