"""What shoppers see of a store — categories, products on sale, delivery options, ways to pay
(its enabled gateways, and whether it takes cash) — read once per process and kept until the
store changes it.

Every USSD hop shows a menu of categories, products or sizes, and merchants change those rarely,
so each process keeps a ``Storefront`` per store: plain frozen values, shared by all requests,
never written to. Stock is not in it (it changes with every sale: read it live).

Keeping it right: every commit that adds, changes or deletes a row the storefront shows (see
``SHOWN``, and the store's own ``STORE_SHOWN`` settings) gives that store a new *version* after
the commit; a request compares the version with its storefront's and builds a new one when they
differ. With Redis the version lives there,
and each process looks at most once a second (``RECHECK``), so a change made by one process is
seen by all of them within a second (by itself at once); without Redis (the embedded default,
one process) it lives in the process. As a safety net for a change made behind
the app's back (SQL by hand), no storefront is used longer than ``MAX_AGE`` seconds.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import event, inspect as sa_inspect, select
from sqlalchemy.orm import Session, selectinload

from commerce.catalog import tree_of, with_descendants
from commerce.db import transaction_scoped
from commerce.errors import N_, NotFound
from commerce.models import (
    Category, PaymentGateway, PickupPoint, Product, ShippingRate, ShippingZone, Store, Variant,
)
from commerce.models.catalog import variant_title

log = logging.getLogger("commerce.storefront")

KEY = "duka.storefronts"  # Session.info key: the app's Storefronts (set by create_app)
_CHANGED = transaction_scoped("duka.storefront_changes")  # stores changed in this transaction
MAX_AGE = 60.0  # seconds
RECHECK = 1.0  # seconds between version checks per store: another process's change shows by then
SHOWN = (Category, Product, Variant, ShippingZone, ShippingRate, PickupPoint,
         PaymentGateway)  # each has a store_id
# The store's own settings a storefront carries. A change to one through the ORM gives the store
# a new version; the store's other settings (name, languages...) come with its channel address
# (``commerce.stores.ChannelRoutes``), and an order number taken (Core) changes nothing here.
STORE_SHOWN = ("accepts_cash",)


# -- what a shopper sees ----------------------------------------------------------------------
@dataclass(frozen=True)
class VariantView:
    id: int
    product_id: int
    sku: str
    name: str  # "1kg"; "" when the product has one size
    title: str  # "Tomatoes 1kg"
    price: int  # minor units
    weight_grams: int


@dataclass(frozen=True)
class ProductView:
    id: int
    name: str
    category_id: int | None
    on_sale_variants: tuple[VariantView, ...]  # by id, as the merchant added them


@dataclass(frozen=True)
class CategoryView:
    id: int
    name: str
    parent_id: int | None
    position: int


@dataclass(frozen=True)
class RateView:
    kind: str  # flat | by_weight | free_over
    amount: int
    min_weight_grams: int
    max_weight_grams: int | None
    free_over: int | None


@dataclass(frozen=True)
class ZoneView:
    id: int
    name: str
    areas: tuple[str, ...]
    rates: tuple[RateView, ...]  # active ones


@dataclass(frozen=True)
class PickupPointView:
    id: int
    name: str
    address_text: str


@dataclass(frozen=True)
class GatewayView:
    provider: str
    simulated: bool
    settings: dict = field(default_factory=dict, hash=False)  # non-secret: how it asks


@dataclass(frozen=True)
class Storefront:
    store_id: int
    version: object
    built_at: float
    categories: tuple[CategoryView, ...]  # by position, then name
    products: tuple[ProductView, ...]  # on sale: by category position, then name
    zones: tuple[ZoneView, ...]  # active, by name
    pickup_points: tuple[PickupPointView, ...]  # active, by name
    gateways: tuple[GatewayView, ...]  # enabled payment gateways
    accepts_cash: bool  # the store offers cash on delivery / at pickup

    def category_tree(self) -> list[dict]:
        """As ``commerce.catalog.category_tree``."""
        return tree_of(self.categories)

    def products_in_category(self, category_id: int) -> list[ProductView]:
        """On sale in the category or below it, by name (``catalog.products_in_category``)."""
        parents = {category.id: category.parent_id for category in self.categories}
        if category_id not in parents:
            raise NotFound(N_("No such category in this store."))
        found = with_descendants(parents, category_id)
        return sorted((p for p in self.products if p.category_id in found),
                      key=lambda p: (p.name, p.id))

    def product(self, product_id: int) -> ProductView:
        product = self._products.get(product_id)
        if product is None:
            raise NotFound(N_("That product is not available."))
        return product

    def variant(self, variant_id: int) -> VariantView:
        variant = self._variants.get(variant_id)
        if variant is None:
            raise NotFound(N_("That product is not available."))
        return variant

    def __post_init__(self):
        products = {product.id: product for product in self.products}
        object.__setattr__(self, "_products", products)
        object.__setattr__(self, "_variants", {variant.id: variant for product in self.products
                                               for variant in product.on_sale_variants})


def build(session: Session, store_id: int, version: object = None,
          built_at: float = 0.0) -> Storefront:
    """Read a store's storefront from the database (seven queries)."""
    categories = session.scalars(select(Category).where(Category.store_id == store_id)
                                 .order_by(Category.position, Category.name, Category.id)).all()
    position = {category.id: category.position for category in categories}
    products = session.scalars(select(Product).where(
        Product.store_id == store_id, Product.active.is_(True),
        Product.variants.any(Variant.active.is_(True)))).all()  # variants: selectin, one query
    products = sorted(products, key=lambda p: (p.category_id is None,  # uncategorised last
                                               position.get(p.category_id, 0), p.name, p.id))
    zones = session.scalars(select(ShippingZone).options(selectinload(ShippingZone.rates)).where(
        ShippingZone.store_id == store_id, ShippingZone.active.is_(True))
        .order_by(ShippingZone.name)).all()
    points = session.scalars(select(PickupPoint).where(
        PickupPoint.store_id == store_id, PickupPoint.active.is_(True))
        .order_by(PickupPoint.name)).all()
    gateways = session.scalars(select(PaymentGateway).where(
        PaymentGateway.store_id == store_id, PaymentGateway.enabled.is_(True))).all()
    accepts_cash = session.scalar(select(Store.accepts_cash).where(Store.id == store_id))
    return Storefront(
        store_id, version, built_at,
        tuple(CategoryView(c.id, c.name, c.parent_id, c.position) for c in categories),
        tuple(ProductView(p.id, p.name, p.category_id, tuple(
            VariantView(v.id, p.id, v.sku, v.name, variant_title(p.name, v.name), v.price,
                        v.weight_grams) for v in p.on_sale_variants)) for p in products),
        tuple(ZoneView(z.id, z.name, tuple(z.areas or ()), tuple(
            RateView(r.kind, r.amount, r.min_weight_grams, r.max_weight_grams, r.free_over)
            for r in z.rates if r.active)) for z in zones),
        tuple(PickupPointView(p.id, p.name, p.address_text) for p in points),
        tuple(GatewayView(g.provider, g.simulated, dict(g.settings or {})) for g in gateways),
        bool(accepts_cash),
    )


# -- versions: has the store changed since? -------------------------------------------------------
# A store's version is the pair (every store's, its own): a bulk UPDATE or DELETE names no
# single store, so it changes every store's version at once.
EVERY_STORE = "all"


class InProcessVersions:
    """Versions for one process (the embedded default, without Redis)."""

    def __init__(self):
        self._versions: dict[object, int] = defaultdict(int)
        self._lock = threading.Lock()

    def current(self, store_id: int) -> object:
        return self._versions[EVERY_STORE], self._versions[store_id]

    def changed(self, store_ids) -> None:
        with self._lock:
            for store_id in store_ids:
                self._versions[store_id] += 1


class RedisVersions:
    """Versions in Redis, shared by every process. A change writes a new random token, so a
    Redis that restarted empty (no version) never matches a version kept from before."""

    def __init__(self, redis, prefix: str = "duka:storefront:"):
        self.redis = redis
        self.prefix = prefix

    def current(self, store_id: int) -> object:
        return tuple(self.redis.mget(f"{self.prefix}{EVERY_STORE}", f"{self.prefix}{store_id}"))

    def changed(self, store_ids) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for store_id in store_ids:
            pipe.set(f"{self.prefix}{store_id}", uuid.uuid4().hex)
        pipe.execute()


class Storefronts:
    """The storefronts one app keeps, by store: at most ``max_stores`` of them (the oldest built
    is let go first), so a process serving thousands of stores stays within its memory."""

    MAX_STORES = 500

    def __init__(self, versions, max_age: float = MAX_AGE, recheck: float = RECHECK,
                 clock=time.monotonic, max_stores: int = MAX_STORES):
        self.versions = versions
        self.max_stores = max_stores
        self.max_age = max_age
        self.recheck = recheck
        self.clock = clock
        self._kept: dict[int, Storefront] = {}
        self._checked: dict[int, float] = {}  # when each kept storefront's version was checked
        self._writing = threading.Lock()  # writers swap in a new dict; readers need no lock

    def get(self, session: Session, store_id: int) -> Storefront:
        now = self.clock()
        kept = self._kept.get(store_id)  # dict reads and writes are atomic: no lock needed
        fresh_enough = kept is not None and now - kept.built_at < self.max_age
        if fresh_enough and now - self._checked.get(store_id, -self.recheck) < self.recheck:
            return kept
        version = self.versions.current(store_id)
        self._checked[store_id] = now
        if fresh_enough and kept.version == version:
            return kept
        # Read in a transaction of its own, begun after the version was read: the request's
        # may be older than the change (SQLite reads from the snapshot its first read took).
        with Session(bind=session.get_bind()) as fresh:
            front = build(fresh, store_id, version, self.clock())
        self._keep(front)
        return front

    def _keep(self, front: Storefront) -> None:
        with self._writing:
            kept = dict(self._kept)
            kept.pop(front.store_id, None)  # re-inserted last: dicts keep insertion order
            while len(kept) >= self.max_stores:
                oldest = next(iter(kept))
                del kept[oldest]
                self._checked.pop(oldest, None)
            kept[front.store_id] = front
            self._kept = kept

    def changed(self, store_ids) -> None:
        with self._writing:  # this process sees its own change at once
            every = EVERY_STORE in store_ids
            self._kept = {} if every else {k: v for k, v in self._kept.items()
                                           if k not in store_ids}
            # A storefront being built meanwhile, from before the change, is kept unchecked:
            # with no check time it is checked (and found old) on its next use.
            self._checked = {} if every else {k: v for k, v in self._checked.items()
                                              if k not in store_ids}
        try:
            self.versions.changed(store_ids)
        except Exception:  # committed already; other processes catch up within MAX_AGE
            log.exception("could not publish the storefront change of stores %s", store_ids)


def storefront(session: Session, store_id: int) -> Storefront:
    """The store's storefront: kept by the app the session belongs to, or read now."""
    kept = session.info.get(KEY)
    return kept.get(session, store_id) if kept is not None else build(session, store_id)


# -- noticing changes -----------------------------------------------------------------------------
@event.listens_for(Session, "before_flush")
def _note_changes(session: Session, _context, _instances) -> None:
    if KEY not in session.info:
        return
    for instance in (*session.new, *session.dirty, *session.deleted):
        if isinstance(instance, SHOWN):
            session.info.setdefault(_CHANGED, set()).add(instance.store_id)
        elif isinstance(instance, Store) and instance.id is not None and (
                instance in session.deleted or _store_setting_changed(instance)):
            session.info.setdefault(_CHANGED, set()).add(instance.id)


def _store_setting_changed(store: Store) -> bool:
    attrs = sa_inspect(store).attrs
    return any(attrs[name].history.has_changes() for name in STORE_SHOWN)


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_changes(state) -> None:
    """``session.execute(update(Variant)...)`` (or insert, delete): which stores it touched is
    not known."""
    if ((state.is_update or state.is_delete or state.is_insert) and KEY in state.session.info
            and state.bind_mapper is not None and issubclass(state.bind_mapper.class_, SHOWN)):
        state.session.info.setdefault(_CHANGED, set()).add(EVERY_STORE)


@event.listens_for(Session, "after_commit")
def _publish_changes(session: Session) -> None:
    changed = session.info.pop(_CHANGED, None)
    if changed:
        session.info[KEY].changed(sorted(changed, key=str))

