from __future__ import annotations

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from commerce.db import Base


class ShippingZone(Base):
    """Where a store delivers: a list of regions or towns ("Westlands", "Kiambu")."""

    __tablename__ = "shipping_zones"
    __table_args__ = (UniqueConstraint("store_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    areas: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)

    rates: Mapped[list[ShippingRate]] = relationship(order_by="ShippingRate.id", lazy="selectin")


class ShippingRate(Base):
    """``flat``: ``amount``. ``by_weight``: ``amount`` for orders weighing ``min_weight_grams``
    up to ``max_weight_grams``. ``free_over``: ``amount``, but free at ``free_over`` or more."""

    __tablename__ = "shipping_rates"
    __table_args__ = (CheckConstraint("amount >= 0", name="amount_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("shipping_zones.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20), default="flat")  # flat | by_weight | free_over
    amount: Mapped[int] = mapped_column(Integer, default=0)
    min_weight_grams: Mapped[int] = mapped_column(Integer, default=0)
    max_weight_grams: Mapped[int | None] = mapped_column(Integer)
    free_over: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(default=True)


class PickupPoint(Base):
    __tablename__ = "pickup_points"
    __table_args__ = (UniqueConstraint("store_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    address_text: Mapped[str] = mapped_column(String(300), default="")
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    opening_hours: Mapped[dict | None] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(default=True)
