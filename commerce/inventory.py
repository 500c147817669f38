"""Stock per variant per location: availability, reservations, adjustments and their audit trail.

Every change to stock is one conditional UPDATE (``... WHERE quantity - reserved >= :n``),
never a read-then-write, and stock rows are updated in primary-key order so that two checkouts
sharing variants wait for each other instead of deadlocking. A checkout that places an order
locks its cart, then the store row (order number), then stock rows: always in that order.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from commerce import events
from commerce.db import committing, utcnow
from commerce.errors import N_, InvalidQuantity, NotFound, OutOfStock
from commerce.models import Location, Reservation, Stock, StockMovement, Store, Variant

log = logging.getLogger(__name__)

ADJUSTMENT_REASONS = (
    "received", "correction", "damaged", "returned", "cancelled", "transfer",
)


# -- reading ------------------------------------------------------------------------------------
_AVAILABLE = (  # built once: every product list reads it
    select(Stock.variant_id, func.sum(Stock.quantity - Stock.reserved))
    .join(Location, Location.id == Stock.location_id)
    .where(Stock.store_id == bindparam("store_id"),
           Stock.variant_id.in_(bindparam("variant_ids", expanding=True)),
           Location.active.is_(True))
    .group_by(Stock.variant_id)
)


def available_quantities(session: Session, store_id: int, variant_ids) -> dict[int, int]:
    """``{variant_id: units that can still be sold}`` across the store's active locations."""
    ids = list(variant_ids)
    if not ids:
        return {}
    rows = session.execute(_AVAILABLE, {"store_id": store_id, "variant_ids": ids}).all()
    found = {variant_id: int(total or 0) for variant_id, total in rows}
    return {variant_id: found.get(variant_id, 0) for variant_id in ids}


def available_quantity(session: Session, store_id: int, variant_id: int) -> int:
    return available_quantities(session, store_id, [variant_id])[variant_id]


# The statements below run on every checkout. Built once, each saves SQLAlchemy building it and
# working out its cache key again: about a third of what a read costs. The UPDATEs run on the
# session's connection, as Core: no object in the session needs them applied, and the ORM's
# bulk-UPDATE path would cost ~0.3 ms more each (both measured by bench/sql_layers.py).
_SELLABLE_STOCKS = (
    select(Stock).join(Location, Location.id == Stock.location_id)
    .where(Stock.store_id == bindparam("store_id"), Stock.variant_id == bindparam("variant_id"),
           Location.active.is_(True))
    .order_by(Location.position, Stock.id)
)
_HOLD = (  # only if that many are still free
    update(Stock)
    .where(Stock.id == bindparam("stock_id"),
           Stock.quantity - Stock.reserved >= bindparam("units"))
    .values(reserved=Stock.reserved + bindparam("units"))
)
_UNHOLD = (
    update(Stock).where(Stock.id == bindparam("stock_id"))
    .values(reserved=Stock.reserved - bindparam("units"))
)
_SELL_HELD = (  # held units leave the shelf
    update(Stock).where(Stock.id == bindparam("stock_id"))
    .values(quantity=Stock.quantity - bindparam("units"),
            reserved=Stock.reserved - bindparam("units"))
    .returning(Stock.quantity)
)
_CART_HOLDS = (
    select(Reservation)
    .where(Reservation.store_id == bindparam("store_id"),
           Reservation.cart_id == bindparam("cart_id"))
)
# Locked before the stock rows, as the expiry job locks the holds it gives back: a hold the
# job is giving back is waited for, then gone, so it is never given back twice.
_CART_HOLDS_BY_STOCK = _CART_HOLDS.order_by(Reservation.stock_id).with_for_update()
_LIVE_CART_HOLDS = (
    _CART_HOLDS.where(Reservation.expires_at > bindparam("now")).order_by(Reservation.id)
)
_LIVE_CART_HOLDS_LOCKED = _LIVE_CART_HOLDS.with_for_update()


def _stocks_for(session: Session, store_id: int, variant_id: int) -> list[Stock]:
    """The variant's stock rows it may be sold from: location order, then primary key."""
    return list(session.scalars(_SELLABLE_STOCKS,
                                {"store_id": store_id, "variant_id": variant_id}))


# -- reservations -------------------------------------------------------------------------------
def reserve_stock(session: Session, store: Store, cart_id: int, wants: dict[int, int],
                  now: datetime | None = None) -> datetime:
    """Hold ``{variant_id: quantity}`` for a cart until the returned expiry; does not commit.

    Replaces whatever the cart held before. Each variant is taken from its locations in their
    order; the conditional UPDATEs then run in stock primary-key order. Raises ``OutOfStock``
    (after rolling back) if any variant cannot be covered, so nothing is half held.
    """
    now = now or utcnow()
    expires_at = now + timedelta(minutes=store.reservation_minutes)
    release_reservations(session, store.id, cart_id)
    plan: list[tuple[Stock, int, int]] = []  # (stock row, variant id, units to hold there)
    for variant_id in sorted(wants):
        quantity = wants[variant_id]
        if quantity < 1:
            raise InvalidQuantity(N_("Quantity must be at least 1."))
        remaining = quantity
        for stock in _stocks_for(session, store.id, variant_id):
            take = min(remaining, stock.available)
            if take > 0:
                plan.append((stock, variant_id, take))
                remaining -= take
        if remaining:
            session.rollback()
            raise _out_of_stock(session, store.id, variant_id)
    for stock, variant_id, take in sorted(plan, key=lambda step: step[0].id):
        held = session.connection().execute(_HOLD, {"stock_id": stock.id,
                                                    "units": take}).rowcount
        if not held:  # someone took it between our read and our update
            session.rollback()
            raise _out_of_stock(session, store.id, variant_id)
        session.add(Reservation(store_id=store.id, cart_id=cart_id, stock_id=stock.id,
                                variant_id=variant_id, quantity=take, expires_at=expires_at))
    session.flush()
    return expires_at


def _out_of_stock(session: Session, store_id: int, variant_id: int) -> OutOfStock:
    variant = session.get(Variant, variant_id)
    available = available_quantity(session, store_id, variant_id)
    if variant is None:  # deleted meanwhile
        return OutOfStock(N_("Sorry, that item is no longer sold."), variant_id=variant_id,
                          available=0)
    return out_of_stock(variant.title, variant_id, available)


def out_of_stock(title: str, variant_id: int, available: int) -> OutOfStock:
    """The refusal a shopper reads when they want more of ``title`` than is left."""
    if available:
        return OutOfStock(N_("Sorry, only {count} {name} left."),
                          values={"count": available, "name": title},
                          variant_id=variant_id, available=available)
    return OutOfStock(N_("Sorry, {name} is sold out."), values={"name": title},
                      variant_id=variant_id, available=available)


def held_for_cart(session: Session, store_id: int, cart_id: int,
                  now: datetime | None = None) -> dict[int, int]:
    """``{variant_id: quantity}`` held for the cart by reservations that have not expired."""
    return held_quantities(holds_of_cart(session, store_id, cart_id, now))


def holds_of_cart(session: Session, store_id: int, cart_id: int, now: datetime | None = None,
                  lock: bool = False) -> list[Reservation]:
    """The cart's reservations that have not expired, in primary-key order.

    ``lock`` keeps them: the expiry job skips locked reservations, so a hold read while
    placing an order cannot be released before it is consumed.
    """
    return list(session.scalars(_LIVE_CART_HOLDS_LOCKED if lock else _LIVE_CART_HOLDS,
                                {"store_id": store_id, "cart_id": cart_id,
                                 "now": now or utcnow()}))


def held_quantities(holds: list[Reservation]) -> dict[int, int]:
    held: dict[int, int] = {}
    for reservation in holds:
        held[reservation.variant_id] = held.get(reservation.variant_id, 0) + \
            reservation.quantity
    return held


def release_reservations(session: Session, store_id: int, cart_id: int) -> None:
    """Give back everything the cart holds; does not commit."""
    held = session.scalars(_CART_HOLDS_BY_STOCK,
                           {"store_id": store_id, "cart_id": cart_id}).all()
    for reservation in held:
        _unreserve(session, reservation)


def _unreserve(session: Session, reservation: Reservation) -> None:
    session.connection().execute(_UNHOLD, {"stock_id": reservation.stock_id,
                                           "units": reservation.quantity})
    session.delete(reservation)


def consume_reservations(session: Session, store: Store, holds: list[Reservation],
                         order_id: int, actor: str = "checkout") -> None:
    """The cart became an order: the units of its ``holds`` (``holds_of_cart``, locked) leave
    the shelf; does not commit."""
    on_hand_at_least: dict[int, int] = {}  # per variant: what one of its locations has left
    for reservation in sorted(holds, key=lambda hold: hold.stock_id):
        quantity_after = session.connection().execute(
            _SELL_HELD, {"stock_id": reservation.stock_id, "units": reservation.quantity}
        ).scalar_one()
        session.add(StockMovement(store_id=store.id, stock_id=reservation.stock_id,
                                  delta=-reservation.quantity, quantity_after=quantity_after,
                                  reason="sold", actor=actor, order_id=order_id))
        session.delete(reservation)
        on_hand_at_least[reservation.variant_id] = max(
            quantity_after, on_hand_at_least.get(reservation.variant_id, 0))
    session.flush()
    check_low_stock(session, store, held_quantities(holds), on_hand_at_least)


def do_release_expired_reservations(session: Session, now: datetime | None = None) -> int:
    """Job: give back stock held by checkouts that were never completed. Commits."""
    now = now or utcnow()
    expired = session.scalars(
        select(Reservation).where(Reservation.expires_at <= now)
        .order_by(Reservation.stock_id).with_for_update(skip_locked=True)
    ).all()
    for reservation in expired:
        _unreserve(session, reservation)
    session.commit()
    if expired:
        log.info("released %d expired reservation(s)", len(expired))
    return len(expired)


# -- adjustments --------------------------------------------------------------------------------
def get_or_create_stock(session: Session, store_id: int, variant_id: int,
                        location_id: int) -> Stock:
    stock = session.scalar(select(Stock).where(
        Stock.store_id == store_id, Stock.variant_id == variant_id,
        Stock.location_id == location_id))
    if stock is not None:
        return stock
    variant = session.scalar(select(Variant).where(Variant.id == variant_id,
                                                   Variant.store_id == store_id))
    location = session.scalar(select(Location).where(Location.id == location_id,
                                                     Location.store_id == store_id))
    if variant is None or location is None:
        raise NotFound("No such product or location in this store.")
    stock = Stock(store_id=store_id, variant_id=variant_id, location_id=location_id)
    session.add(stock)
    session.flush()
    return stock


@dataclass(frozen=True)
class StockChange:
    """What a merchant's change to stock did: the level after it, and the movement that
    recorded it (``None`` when there was nothing to change: a count that matched)."""

    stock: Stock
    movement: StockMovement | None


def check_adjustment(delta: object, reason: object) -> None:
    if not isinstance(delta, int) or isinstance(delta, bool) or delta == 0:
        raise InvalidQuantity("An adjustment must change the stock by a whole number.")
    _check_reason(reason)


def check_count(quantity: object, reason: object) -> None:
    """A count of units on hand: a whole number, 0 or more, with a reason."""
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
        raise InvalidQuantity("A count of units on hand must be a whole number, 0 or more.")
    _check_reason(reason)


def _check_reason(reason: object) -> None:
    if reason not in ADJUSTMENT_REASONS:
        raise InvalidQuantity(f"Reason must be one of: {', '.join(ADJUSTMENT_REASONS)}.")


def _move(session: Session, store: Store, stock: Stock, variant_id: int, delta: int,
          reason: str, actor: str, note: str, order_id: int | None) -> StockMovement:
    """Apply ``delta`` to the row with one conditional UPDATE (never below what checkouts
    hold), record the movement, and ``inventory.low_stock`` if it fell to the threshold."""
    quantity_after = session.execute(
        update(Stock)
        .where(Stock.id == stock.id, Stock.quantity - Stock.reserved + delta >= 0)
        .values(quantity=Stock.quantity + delta)
        .returning(Stock.quantity)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if quantity_after is None:
        session.rollback()
        raise OutOfStock("Cannot remove more units than are on hand and not held by checkouts.",
                         variant_id=variant_id)
    movement = StockMovement(store_id=store.id, stock_id=stock.id, delta=delta,
                             quantity_after=quantity_after, reason=reason, actor=actor,
                             note=note, order_id=order_id)
    session.add(movement)
    session.flush()
    session.refresh(stock)
    if delta < 0:
        check_low_stock(session, store, {variant_id: -delta}, {variant_id: quantity_after})
    return movement


def adjust_stock(session: Session, store: Store, variant_id: int, location_id: int, delta: int,
                 reason: str, actor: str = "system", note: str = "",
                 order_id: int | None = None) -> Stock:
    """Add (or with a negative delta, remove) units on hand, recording why; does not commit.

    Removing more than is unreserved raises ``OutOfStock``: held units belong to checkouts.
    """
    check_adjustment(delta, reason)
    stock = get_or_create_stock(session, store.id, variant_id, location_id)
    _move(session, store, stock, variant_id, delta, reason, actor, note, order_id)
    return stock


def do_adjust_stock(session: Session, store: Store, variant_id: int, location_id: int,
                    delta: int, reason: str, actor: str = "system",
                    note: str = "") -> StockChange:
    """``adjust_stock`` as a merchant action of its own: commits."""
    check_adjustment(delta, reason)
    with committing(session):
        stock = get_or_create_stock(session, store.id, variant_id, location_id)
        movement = _move(session, store, stock, variant_id, delta, reason, actor, note, None)
    return StockChange(stock, movement)


def do_set_stock(session: Session, store: Store, variant_id: int, location_id: int,
                 quantity: int, reason: str = "correction", actor: str = "system",
                 note: str = "") -> StockChange:
    """Set units on hand to a count; commits. The row is locked while the difference is taken
    (PostgreSQL; SQLite writes one at a time), so a sale meanwhile cannot make it stale; the
    difference is recorded as a movement and, if it falls to the threshold, as
    ``inventory.low_stock``, like any other change. A count that matches changes nothing
    (``movement`` is None). A count below what checkouts hold raises ``OutOfStock``."""
    check_count(quantity, reason)
    with committing(session):
        stock = get_or_create_stock(session, store.id, variant_id, location_id)
        stock = session.scalar(select(Stock).where(Stock.id == stock.id)
                               .with_for_update(of=Stock)
                               .execution_options(populate_existing=True))
        delta = quantity - stock.quantity
        movement = (_move(session, store, stock, variant_id, delta, reason, actor, note, None)
                    if delta else None)
    return StockChange(stock, movement)


def default_location(session: Session, store_id: int) -> Location:
    location = session.scalar(
        select(Location).where(Location.store_id == store_id, Location.active.is_(True))
        .order_by(Location.position, Location.id))
    if location is None:
        raise NotFound("This store has no stock location.")
    return location


def on_hand_quantities(session: Session, store_id: int, variant_ids) -> dict[int, int]:
    ids = list(variant_ids)
    rows = session.execute(
        select(Stock.variant_id, func.sum(Stock.quantity))
        .where(Stock.store_id == store_id, Stock.variant_id.in_(ids))
        .group_by(Stock.variant_id)
    ).all()
    found = {variant_id: int(total or 0) for variant_id, total in rows}
    return {variant_id: found.get(variant_id, 0) for variant_id in ids}


def check_low_stock(session: Session, store: Store, removed: dict[int, int],
                    on_hand_at_least: dict[int, int] | None = None) -> None:
    """Record ``inventory.low_stock`` once, when units on hand fall to the threshold or below.

    ``on_hand_at_least`` (optional): units a variant is known to still have (one location's,
    say). A variant above its threshold there is above it in all, so it is not counted again.
    """
    known = on_hand_at_least or {}
    # get(): the variants are usually loaded already (an order's lines): no query for them.
    variants = [variant for variant in (session.get(Variant, variant_id) for variant_id in removed)
                if variant is not None and variant.store_id == store.id]  # this store's rows
    thresholds = {variant.id: (variant.low_stock_threshold
                               if variant.low_stock_threshold is not None
                               else store.low_stock_threshold) for variant in variants}
    maybe_low = [variant for variant in variants
                 if known.get(variant.id, -1) <= thresholds[variant.id]]
    if not maybe_low:
        return
    on_hand = on_hand_quantities(session, store.id, (variant.id for variant in maybe_low))
    for variant in maybe_low:
        threshold, after = thresholds[variant.id], on_hand[variant.id]
        if after <= threshold < after + removed[variant.id]:
            events.record(session, store.id, events.INVENTORY_LOW_STOCK, {
                "variant_id": variant.id, "sku": variant.sku, "on_hand": after,
                "threshold": threshold})


def movements(session: Session, store_id: int, variant_id: int) -> list[StockMovement]:
    """The audit trail of a variant's stock, newest first."""
    return list(session.scalars(
        select(StockMovement).join(Stock, Stock.id == StockMovement.stock_id)
        .where(StockMovement.store_id == store_id, Stock.variant_id == variant_id)
        .order_by(StockMovement.id.desc())
    ))


