"""Finding products by part of a name, forgiving typos (``rapidfuzz``)."""
from __future__ import annotations

from rapidfuzz import fuzz, process, utils
from rapidfuzz.distance import OSA
from sqlalchemy.orm import Session

from commerce.storefront import ProductView, storefront

MIN_SCORE = 70
SLIP_FROM = 4  # letters typed before a swapped pair counts as one slip


def search_products(session: Session, store_id: int, query: str, limit: int = 8
                    ) -> list[ProductView]:
    """Products on sale whose name matches ``query`` ("tomatos", "suk"), best first."""
    query = " ".join(query.split())[:60]
    if len(query) < 2:
        return []
    products = storefront(session, store_id).products
    by_name = {product.id: product.name for product in products}
    matches = process.extract(query, by_name, scorer=_score, processor=utils.default_process,
                              limit=limit, score_cutoff=MIN_SCORE)
    found = {product.id: product for product in products}
    return [found[key] for _name, _score, key in matches]


def _score(query: str, name: str, **_) -> float:
    """How well ``query`` matches ``name`` (0-100): ``WRatio``, or the start of one of the
    name's words typed with one slip, two letters swapped counting as one ("mnago" for
    Mangoes, which ``WRatio`` counts as two and misses). One slip only, in four letters or
    more: "tomatoe" is not "potatoe"."""
    best = fuzz.WRatio(query, name)
    if len(query) >= SLIP_FROM:
        for word in name.split():
            start = word[:len(query)]
            if OSA.distance(query, start) <= 1:
                best = max(best, 100 * OSA.normalized_similarity(query, start))
    return best
