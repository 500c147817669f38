from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from commerce.db import Base, UtcDateTime, utcnow
from commerce.models.customers import Customer
from commerce.money import Money


class Order(Base):
    """``status`` moves by the order state machine; financial and fulfilment statuses are
    derived from payments, refunds and fulfilments, as Shopify does."""

    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("store_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    cart_id: Mapped[int | None] = mapped_column(ForeignKey("carts.id"), unique=True)
    # draft | pending_payment | paid | processing | ready_for_pickup | shipped | delivered |
    # completed | cancelled | returned
    status: Mapped[str] = mapped_column(String(30), default="pending_payment")
    # pending | paid | partially_refunded | refunded
    financial_status: Mapped[str] = mapped_column(String(30), default="pending")
    # unfulfilled | partially_fulfilled | fulfilled
    fulfilment_status: Mapped[str] = mapped_column(String(30), default="unfulfilled")
    payment_method: Mapped[str] = mapped_column(String(30))
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[int] = mapped_column(Integer, default=0)  # all amounts in minor units
    discount_total: Mapped[int] = mapped_column(Integer, default=0)
    shipping_total: Mapped[int] = mapped_column(Integer, default=0)
    tax_total: Mapped[int] = mapped_column(Integer, default=0)  # included in total either way
    total: Mapped[int] = mapped_column(Integer)
    delivery_method: Mapped[str | None] = mapped_column(String(20))  # delivery | pickup
    shipping_zone_id: Mapped[int | None] = mapped_column(ForeignKey("shipping_zones.id"))
    pickup_point_id: Mapped[int | None] = mapped_column(ForeignKey("pickup_points.id"))
    address_text: Mapped[str] = mapped_column(String(300), default="")
    address_landmark: Mapped[str] = mapped_column(String(200), default="")
    discount_code: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(String(500), default="")
    draft_token: Mapped[str | None] = mapped_column(String(64), unique=True)  # pay-link for drafts
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    lines: Mapped[list[OrderLine]] = relationship(order_by="OrderLine.id", lazy="selectin")
    customer: Mapped[Customer] = relationship(lazy="joined")

    @property
    def total_money(self) -> Money:
        return Money(self.total, self.currency)


class OrderLine(Base):
    """A snapshot of what was bought, at the price it was bought for."""

    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("quantity_fulfilled <= quantity", name="fulfilled_within_quantity"),
        CheckConstraint("quantity_returned <= quantity", name="returned_within_quantity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variants.id"))
    title: Mapped[str] = mapped_column(String(200))
    sku: Mapped[str] = mapped_column(String(60))
    unit_price: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)
    quantity_fulfilled: Mapped[int] = mapped_column(Integer, default=0)
    quantity_returned: Mapped[int] = mapped_column(Integer, default=0)


class OrderStatusChange(Base):
    """Status history: who moved the order, when and why."""

    __tablename__ = "order_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(30))
    to_status: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(80), default="system")
    reason: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Payment(Base):
    """Money received (or asked for) for an order.

    ``reference`` is the receipt a person reads (an M-Pesa receipt such as ``NLJ7RT61SV``);
    ``provider_reference`` is the handle the provider's callbacks and status queries name (a
    ``CheckoutRequestID``, MoMo ``X-Reference-Id``, Paystack ``reference``, Flutterwave
    ``tx_ref``). Status moves ``created → pending → succeeded | failed | cancelled | expired``
    (``payments.state``).
    """

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("store_id", "method", "reference"),  # a provider's receipt counts once
        UniqueConstraint("method", "provider_reference"),  # a callback finds one payment
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_payments_status_expires_at", "status", "expires_at"),  # the reconciler's scan
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    method: Mapped[str] = mapped_column(String(30))  # cod | mpesa | momo | paystack | ...
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    reference: Mapped[str | None] = mapped_column(String(100))
    provider_reference: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20))  # E.164, who is asked to pay
    failure_reason: Mapped[str] = mapped_column(String(200), default="")  # in plain words
    redirect_url: Mapped[str | None] = mapped_column(String(500))  # a card checkout page
    simulated: Mapped[bool] = mapped_column(default=False)  # the demo's pretend M-Pesa
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=utcnow,
                                                        onupdate=utcnow)

    @property
    def is_open(self) -> bool:
        return self.status in ("created", "pending")


class Fulfilment(Base):
    __tablename__ = "fulfilments"
    # A tracking number finds one shipment in a store (NULL: the carrier gave none).
    __table_args__ = (UniqueConstraint("store_id", "tracking_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    carrier: Mapped[str] = mapped_column(String(80), default="")  # "Own rider", "G4S", ...
    tracking_number: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20), default="shipped")  # shipped|delivered
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    lines: Mapped[list[FulfilmentLine]] = relationship(lazy="selectin")


class FulfilmentLine(Base):
    __tablename__ = "fulfilment_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    fulfilment_id: Mapped[int] = mapped_column(ForeignKey("fulfilments.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"))
    quantity: Mapped[int] = mapped_column(Integer)


class Refund(Base):
    """Money given back. ``payment_id`` is set when a provider pays it back (``payments``);
    ``status`` is ``pending`` until the provider confirms, ``failed`` if it refuses (a failed
    refund counts for nothing)."""

    __tablename__ = "refunds"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    amount: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="succeeded")
    provider_reference: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(300), default="")
    restock: Mapped[bool] = mapped_column(default=False)
    actor: Mapped[str] = mapped_column(String(80), default="system")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    lines: Mapped[list[RefundLine]] = relationship(lazy="selectin")


class RefundLine(Base):
    """Units returned with a refund (a refund of money alone has none)."""

    __tablename__ = "refund_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("refunds.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"))
    quantity: Mapped[int] = mapped_column(Integer)
