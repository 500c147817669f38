from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from commerce.db import Base, UtcDateTime, utcnow
from commerce.models.catalog import Variant


class Cart(Base):
    """A shopper's cart, and the checkout choices made on it (delivery, address, code)."""

    __tablename__ = "carts"
    __table_args__ = (
        # One active cart per customer per store, shared by every channel.
        Index(
            "uq_carts_one_active", "store_id", "customer_id", unique=True,
            sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'"),
        ),
        Index("ix_carts_last_activity", "status", "last_activity_at"),
        Index("ix_carts_customer", "store_id", "customer_id"),  # a customer's carts, any status
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))  # None: guest
    guest_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="active")  # active|ordered|merged
    delivery_method: Mapped[str | None] = mapped_column(String(20))  # delivery | pickup
    shipping_zone_id: Mapped[int | None] = mapped_column(ForeignKey("shipping_zones.id"))
    shipping_rate_id: Mapped[int | None] = mapped_column(ForeignKey("shipping_rates.id"))
    pickup_point_id: Mapped[int | None] = mapped_column(ForeignKey("pickup_points.id"))
    address_text: Mapped[str] = mapped_column(String(300), default="")
    address_landmark: Mapped[str] = mapped_column(String(200), default="")
    discount_code: Mapped[str | None] = mapped_column(String(40))
    last_activity_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    abandoned_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # cart.abandoned sent
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    # The last shopper's step that changed the cart (``commerce.carts.Step``): a step delivered
    # again (a gateway's retry, a session replayed after it was lost) changes it only once.
    step_conversation: Mapped[str | None] = mapped_column(String(100))
    step_number: Mapped[int | None] = mapped_column(Integer)

    lines: Mapped[list[CartLine]] = relationship(order_by="CartLine.id", lazy="selectin",
                                                 cascade="all, delete-orphan")


class CartLine(Base):
    __tablename__ = "cart_lines"
    __table_args__ = (
        UniqueConstraint("cart_id", "variant_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(Integer)  # as shown when added: price_changed check
    # The line's last change on any channel: the server's side of the cart sync's merge.
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    variant: Mapped[Variant] = relationship(lazy="joined")
