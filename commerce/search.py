"""Finding products by part of a name, forgiving typos (``rapidfuzz``)."""
from __future__ import annotations

from rapidfuzz import fuzz, process, utils
from sqlalchemy.orm import Session

from commerce.storefront import ProductView, storefront

MIN_SCORE = 70


def search_products(session: Session, store_id: int, query: str, limit: int = 8
                    ) -> list[ProductView]:
    """Products on sale whose name matches ``query`` ("tomatos", "suk"), best first."""
    query = " ".join(query.split())[:60]
    if len(query) < 2:
        return []
    products = storefront(session, store_id).products
    by_name = {product.id: product.name for product in products}
    matches = process.extract(query, by_name, scorer=fuzz.WRatio, processor=utils.default_process,
                              limit=limit, score_cutoff=MIN_SCORE)
    found = {product.id: product for product in products}
    return [found[key] for _name, _score, key in matches]
