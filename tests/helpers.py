"""Small readers shared by tests."""
from sqlalchemy import func, select

from commerce.models import Stock, Variant


def variant_by_sku(db, store, sku) -> Variant:
    return db.scalar(select(Variant).where(Variant.store_id == store.id, Variant.sku == sku))


def on_hand(db, sku: str) -> int:
    """Units of a SKU on hand across all locations, read fresh from the database."""
    db.expire_all()
    return db.scalar(select(func.sum(Stock.quantity)).join(Variant, Variant.id == Stock.variant_id)
                     .where(Variant.sku == sku))
