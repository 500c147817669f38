"""Offline sync for a merchant's mobile app: the catalog's changes here, and a shopper's cart
edited offline and merged back in ``sync_cart``.

``GET /sync/catalog?since=`` (``products:read``): products changed since the last sync, whole:
a product counts as changed when it, or any of its variants (price, SKU, options, on sale, a
new one), was written since (``products.updated_at``, ``variants.updated_at``). Stock has no
change time (it moves with every sale and hold), so the stock of every variant comes as now,
with its price.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field
from sqlalchemy import or_, select

from admin.api.pages import Query
from admin.api.routing import endpoint
from commerce import inventory
from commerce.db import utcnow
from commerce.models import Product, ProductImage, Variant


def _in_utc(value: datetime | None) -> datetime | None:
    """Any offset, kept as UTC (a time that has no UTC equivalent is refused, not a 500)."""
    if value is None:
        return None
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError("the time is out of range") from None


Moment = Annotated[AwareDatetime, AfterValidator(_in_utc)]


class CatalogSince(Query):
    since: Moment | None = Field(None, description="new_sync_timestamp of the last sync, "
                                                   "with its offset; none: everything.")


class SyncVariant(BaseModel):
    id: int
    sku: str
    name: str
    title: str
    price: int = Field(description="Minor units (cents), as now.")
    weight_grams: int
    active: bool
    available: int = Field(description="Units that can be sold now.")
    updated_at: datetime = Field(description="When the variant last changed.")


class SyncProduct(BaseModel):
    id: int
    name: str
    description: str
    category_id: int | None
    option_names: list[str]
    active: bool
    image_urls: list[str]
    updated_at: datetime
    variants: list[SyncVariant]


class StockLevel(BaseModel):
    variant_id: int
    price: int
    available: int
    active: bool


class CatalogChanges(BaseModel):
    currency: str
    products: list[SyncProduct] = Field(description="Products changed since `since`, or with a "
                                                    "variant changed or added since: whole, "
                                                    "oldest id first.")
    levels: list[StockLevel] = Field(description="Price and stock of every variant, as now "
                                                 "(stock has no change time to filter on).")
    new_sync_timestamp: datetime = Field(description="Send as `since` next time.")


@endpoint("GET", "/sync/catalog", "products:read", tag="sync", query=CatalogSince,
          response=CatalogChanges,
          summary="Catalog changes since the last sync; prices and stock of every variant as "
                  "now")
def sync_catalog(call):
    now = utcnow()  # before reading: a change made while we read comes again next time
    since = call.query.since
    statement = select(Product).where(Product.store_id == call.store_id)
    if since is not None:
        statement = statement.where(or_(Product.updated_at >= since, Product.variants.any(
            Variant.updated_at >= since)))
    products = list(call.db.scalars(statement.order_by(Product.id)))
    levels = call.db.execute(select(Variant.id, Variant.price, Variant.active).where(
        Variant.store_id == call.store_id).order_by(Variant.id)).all()
    available = inventory.available_quantities(call.db, call.store_id,
                                               [row.id for row in levels])
    images: dict[int, list[str]] = {}
    if products:
        for product_id, url in call.db.execute(
                select(ProductImage.product_id, ProductImage.url).where(
                    ProductImage.store_id == call.store_id,
                    ProductImage.product_id.in_([p.id for p in products]))
                .order_by(ProductImage.position, ProductImage.id)):
            images.setdefault(product_id, []).append(url)
    return CatalogChanges(
        currency=call.store.currency,
        products=[SyncProduct(
            id=p.id, name=p.name, description=p.description, category_id=p.category_id,
            option_names=list(p.option_names), active=p.active, image_urls=images.get(p.id, []),
            updated_at=p.updated_at, variants=[SyncVariant(
                id=v.id, sku=v.sku, name=v.name, title=v.title, price=v.price,
                weight_grams=v.weight_grams, active=v.active, available=available[v.id],
                updated_at=v.updated_at)
                for v in p.variants]) for p in products],
        levels=[StockLevel(variant_id=row.id, price=row.price, available=available[row.id],
                           active=row.active) for row in levels],
        new_sync_timestamp=now).model_dump(mode="json")
