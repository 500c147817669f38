from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from commerce.db import Base, UtcDateTime, utcnow


class Category(Base):
    """Nested: a category may sit inside another (``parent_id``)."""

    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("store_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    name: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer, default=0)


class Collection(Base):
    """A hand-picked list of products ("Weekend offers")."""

    __tablename__ = "collections"
    __table_args__ = (UniqueConstraint("store_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(default=True)


class CollectionProduct(Base):
    __tablename__ = "collection_products"
    __table_args__ = (UniqueConstraint("collection_id", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    option_names: Mapped[list] = mapped_column(JSON, default=list)  # ["Size", "Colour"]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    variants: Mapped[list[Variant]] = relationship(
        back_populates="product", order_by="Variant.id", lazy="selectin"
    )
    # Loaded when asked for: USSD and SMS never show images.
    images: Mapped[list[ProductImage]] = relationship(order_by="ProductImage.position")

    @property
    def on_sale_variants(self) -> list[Variant]:
        return [variant for variant in self.variants if variant.active]


class ProductImage(Base):
    __tablename__ = "product_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    position: Mapped[int] = mapped_column(Integer, default=0)


def variant_title(product_name: str, variant_name: str) -> str:
    """"Tomatoes 1kg"; "Cabbage" when the product has one size (its variant has no name)."""
    return f"{product_name} {variant_name}".strip()


class Variant(Base):
    """What is actually sold and counted: "Tomatoes, 1 kg". Stock lives in ``Stock`` rows."""

    __tablename__ = "variants"
    __table_args__ = (
        UniqueConstraint("store_id", "sku"),
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("weight_grams >= 0", name="weight_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    sku: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(60), default="")  # "1kg"; "" when only one
    option_values: Mapped[dict] = mapped_column(JSON, default=dict)  # {"Size": "1kg"}
    price: Mapped[int] = mapped_column(Integer)  # minor units of the store's currency
    weight_grams: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)
    low_stock_threshold: Mapped[int | None] = mapped_column(Integer)  # None: the store's
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Any change to the row (price, SKU, options, on sale): what the catalog sync filters on.
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    product: Mapped[Product] = relationship(back_populates="variants", lazy="joined")

    @property
    def title(self) -> str:
        return variant_title(self.product.name, self.name)
