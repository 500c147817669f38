from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from commerce.db import Base, UtcDateTime, utcnow


class Location(Base):
    """Where stock sits: the shop, a warehouse, or a pickup point."""

    __tablename__ = "locations"
    __table_args__ = (UniqueConstraint("store_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20), default="shop")  # shop | warehouse | pickup
    position: Mapped[int] = mapped_column(Integer, default=0)  # sold from in this order
    active: Mapped[bool] = mapped_column(default=True)


class Stock(Base):
    """Units of one variant at one location. ``quantity - reserved`` is what can be sold."""

    __tablename__ = "stocks"
    __table_args__ = (
        UniqueConstraint("variant_id", "location_id"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("reserved <= quantity", name="reserved_within_quantity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer, default=0)  # on hand
    reserved: Mapped[int] = mapped_column(Integer, default=0)  # held for checkouts

    location: Mapped[Location] = relationship(lazy="joined")

    @property
    def available(self) -> int:
        return self.quantity - self.reserved


class Reservation(Base):
    """Stock held for a cart at checkout until ``expires_at``; gone once ordered or released."""

    __tablename__ = "reservations"
    __table_args__ = (
        UniqueConstraint("cart_id", "stock_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_reservations_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id"), index=True)
    stock_id: Mapped[int] = mapped_column(ForeignKey("stocks.id"))
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class StockMovement(Base):
    """The audit trail: every change to a stock's on-hand quantity, with who and why."""

    __tablename__ = "stock_movements"

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    stock_id: Mapped[int] = mapped_column(ForeignKey("stocks.id"), index=True)
    delta: Mapped[int] = mapped_column(Integer)
    quantity_after: Mapped[int] = mapped_column(Integer)
    # received | correction | damaged | sold | returned | transfer
    reason: Mapped[str] = mapped_column(String(30))
    note: Mapped[str] = mapped_column(String(200), default="")
    actor: Mapped[str] = mapped_column(String(80), default="system")
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
