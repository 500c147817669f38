"""The shop's tables. Every tenant-owned row carries ``store_id``."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint, text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from commerce.db import Base, UtcDateTime, utcnow
from commerce.money import Money


class Store(Base):
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
    ussd_code: Mapped[str | None] = mapped_column(String(30), unique=True)  # dedicated code
    # Per-store order numbers (#1001, #1002, ...), handed out by one atomic UPDATE.
    next_order_number: Mapped[int] = mapped_column(Integer, default=1001)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    def money(self, amount: int) -> Money:
        return Money(amount, self.currency)


class Category(Base):
    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("store_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer, default=0)


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    name: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    variants: Mapped[list[Variant]] = relationship(
        back_populates="product", order_by="Variant.id", lazy="selectin"
    )


class Variant(Base):
    """What is actually sold and counted: "Tomatoes, 1 kg"."""

    __tablename__ = "variants"
    __table_args__ = (
        UniqueConstraint("store_id", "sku"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("price >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    sku: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(60), default="")  # "" when the product has one size
    price: Mapped[int] = mapped_column(Integer)  # minor units of the store's currency
    stock: Mapped[int] = mapped_column(Integer, default=0)  # units on hand, sellable

    product: Mapped[Product] = relationship(back_populates="variants", lazy="joined")

    @property
    def title(self) -> str:
        return f"{self.product.name} {self.name}".strip()


class Customer(Base):
    """A phone number within a store: the same person on every channel."""

    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("store_id", "phone"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    phone: Mapped[str] = mapped_column(String(20))  # E.164
    locale: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Cart(Base):
    __tablename__ = "carts"
    __table_args__ = (
        # One active cart per customer per store, shared by every channel.
        Index(
            "uq_carts_one_active", "store_id", "customer_id", unique=True,
            sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | ordered
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    lines: Mapped[list[CartLine]] = relationship(order_by="CartLine.id", lazy="selectin")


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

    variant: Mapped[Variant] = relationship(lazy="joined")


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("store_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    cart_id: Mapped[int | None] = mapped_column(ForeignKey("carts.id"), unique=True)
    status: Mapped[str] = mapped_column(String(30), default="pending_payment")
    payment_method: Mapped[str] = mapped_column(String(30))
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[int] = mapped_column(Integer)  # minor units
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    lines: Mapped[list[OrderLine]] = relationship(order_by="OrderLine.id", lazy="selectin")
    customer: Mapped[Customer] = relationship(lazy="joined")

    @property
    def total_money(self) -> Money:
        return Money(self.total, self.currency)


class OrderLine(Base):
    """A snapshot of what was bought, at the price it was bought for."""

    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variants.id"))
    title: Mapped[str] = mapped_column(String(200))
    sku: Mapped[str] = mapped_column(String(60))
    unit_price: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)


class OutboxEvent(Base):
    """A state change others care about, written in the same transaction as the change."""

    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_events_pending", "relayed_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    name: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    relayed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
