"""Reading the catalog a shopper may buy from, always within one store."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from commerce.errors import NotFound
from commerce.models import Category, Product, Variant


def list_products(session: Session, store_id: int) -> list[Product]:
    """Active products with at least one variant, in category then name order."""
    stmt = (
        select(Product)
        .outerjoin(Category, Category.id == Product.category_id)
        .where(Product.store_id == store_id, Product.active.is_(True))
        .where(Product.variants.any())
        .order_by(Category.position, Product.name)
    )
    return list(session.scalars(stmt))


def get_product(session: Session, store_id: int, product_id: int) -> Product:
    product = session.scalar(
        select(Product).where(
            Product.id == product_id, Product.store_id == store_id, Product.active.is_(True)
        )
    )
    if product is None:
        raise NotFound("That product is not available.")
    return product


def get_variant(session: Session, store_id: int, variant_id: int) -> Variant:
    variant = session.scalar(
        select(Variant).join(Product).where(
            Variant.id == variant_id, Variant.store_id == store_id, Variant.active.is_(True),
            Product.active.is_(True),
        )
    )
    if variant is None:
        raise NotFound("That product is not available.")
    return variant
