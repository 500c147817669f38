"""A shopper's cart kept offline (on a merchant's mobile app) merged back into their cart.

The whole merge is one transaction with the cart's row locked before its lines are read: a
change made on another channel at that moment comes wholly before the merge (and is weighed
by the rule) or wholly after it, never between the merge's reading and its writing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

from sqlalchemy.orm import Session

from commerce import carts, inventory
from commerce.carts import MAX_LINE_QUANTITY, CartView
from commerce.catalog import get_variant
from commerce.db import utcnow
from commerce.errors import DomainError, NotFound
from commerce.models import Cart, Store

RULE = """How local changes merge with the server's cart (deterministic):
1. The changes are taken per variant, in order of their `at` (equal times: in list order).
   `add` adds to the quantity the server's cart holds, `set` sets it (0 removes), `remove`
   removes the line; the last one gives the quantity the client wants.
2. The last write wins per line. The server's write time for a line is when that line last
   changed on any channel; a line the server's cart does not hold (never added, or removed)
   keeps no time of its own, so its time is when the cart last changed. A line the server has
   not changed since `last_sync` takes every local change to it, whatever the client's clock
   says (so does every line when the shopper has no cart yet). Otherwise a line changes only
   if the client's last change to it is LATER than the server's; on a tie the server wins
   (conflict `server_newer`).
3. Stock and price always come from the server: a quantity above what can be sold is cut to it
   (conflict `out_of_stock`, or `max_quantity` past 99 a line); a `seen_price` that differs
   from the price now is reported (conflict `price_changed`) and the line keeps the server's
   price. A variant not on sale (or not this store's) is left out (`not_available`).
`server_changes` is the whole cart as the server now holds it: replace the local copy with it.
Conflicts come sorted by variant id, quantity before price. Sending the same changes again
(a lost answer) changes nothing: the lines it changed are then later than all of them."""


@dataclass(frozen=True)
class LineChange:
    """One change the client made offline. ``op``: add, set or remove."""
    op: str
    variant_id: int
    quantity: int
    at: datetime
    seen_price: int | None = None


@dataclass(frozen=True)
class SyncConflict:
    variant_id: int
    field: str  # quantity or price
    reason: str  # server_newer, out_of_stock, max_quantity, not_available, price_changed
    client_value: int
    server_value: int


@dataclass(frozen=True)
class CartSynced:
    cart: CartView
    available: dict[int, int]  # units each line may hold now
    conflicts: list[SyncConflict]
    synced_at: datetime  # after the changes: the next sync sees them as unchanged since


def do_sync_cart(session: Session, store: Store, customer_id: int, changes: list[LineChange],
                 last_sync: datetime | None) -> CartSynced:
    """Merge ``changes`` into the customer's cart by ``RULE``; commits."""
    try:
        cart, conflicts = (_merge(session, store, customer_id, changes, last_sync) if changes
                           else (None, []))
        session.flush()
        # Taken and read back while the cart's row is still locked: the lines written stand
        # at or before ``synced_at``, a change another channel is waiting to make comes after
        # it (so the next sync weighs it rather than overwriting it), and the answer is
        # exactly what is committed.
        synced_at = utcnow()
        view = (carts.view_lines(store, cart) if cart is not None
                else carts.view_cart(session, store, customer_id))
        available = _available(session, store, view)
    except Exception:
        session.rollback()
        raise
    session.commit()
    seen_prices = _seen_prices(changes)
    conflicts += [SyncConflict(line.variant_id, "price", "price_changed",
                               seen_prices[line.variant_id], line.unit_price.amount)
                  for line in view.lines
                  if seen_prices.get(line.variant_id, line.unit_price.amount)
                  != line.unit_price.amount]
    conflicts.sort(key=lambda c: (c.variant_id, c.field == "price"))
    return CartSynced(view, available, conflicts, synced_at)


def _merge(session: Session, store: Store, customer_id: int, changes: list[LineChange],
           last_sync: datetime | None) -> tuple[Cart | None, list[SyncConflict]]:
    """The locked cart (None if none was left) and the quantity conflicts."""
    cart, new = carts.lock_or_open_active_cart(session, store.id, customer_id)
    holding = {line.variant_id: line.quantity for line in cart.lines}
    # When the server last wrote each line: a line's own time; one the cart does not hold
    # keeps none, so the cart's last change stands in. A cart opened just now has none.
    written = {line.variant_id: line.updated_at for line in cart.lines}
    cart_written = None if new else cart.last_activity_at
    ordered = sorted(enumerate(changes), key=lambda item: (item[1].variant_id, item[1].at,
                                                           item[0]))
    conflicts: list[SyncConflict] = []
    for variant_id, group in groupby(ordered, key=lambda item: item[1].variant_id):
        line_changes = [change for _, change in group]
        have = holding.get(variant_id, 0)
        wanted = _wanted(line_changes, have)
        server_at = written.get(variant_id, cart_written)
        quiet = server_at is None or (last_sync is not None and server_at <= last_sync)
        if not quiet and line_changes[-1].at <= server_at:  # the server wrote later (or as late)
            if wanted != have:
                conflicts.append(SyncConflict(variant_id, "quantity", "server_newer", wanted,
                                              have))
            continue
        if wanted == have:
            continue
        conflict = _apply(session, store, cart, new, variant_id, wanted, have)
        if conflict is not None:
            conflicts.append(conflict)
    if new and not cart.lines:
        session.rollback()  # nothing was added: no empty cart is left behind
        return None, conflicts
    return cart, conflicts


def _wanted(changes: list[LineChange], holding: int) -> int:
    for change in changes:
        holding = (holding + change.quantity if change.op == "add"
                   else change.quantity if change.op == "set" else 0)
    return holding


def _apply(session: Session, store: Store, cart: Cart, new: bool, variant_id: int,
           wanted: int, have: int) -> SyncConflict | None:
    """Bring one line to ``wanted``, cut to what can be sold; a conflict or None."""
    kept, conflict = wanted, None
    if wanted > 0:
        try:
            get_variant(session, store.id, variant_id)  # on sale, in this store
        except NotFound:
            return SyncConflict(variant_id, "quantity", "not_available", wanted, have)
        # read per line: a line shrunk before this one gave the cart's holds back
        room = carts.most_for_line(session, store.id, None if new else cart.id, variant_id)
        kept = min(wanted, room)
        if kept < wanted:
            reason = ("out_of_stock" if room < min(wanted, MAX_LINE_QUANTITY)
                      else "max_quantity")
            conflict = SyncConflict(variant_id, "quantity", reason, wanted, kept)
    if kept == have:
        return conflict
    try:
        carts.set_line(session, store, cart, variant_id, kept, new)
    except DomainError as error:  # sold meanwhile: the line stays as it was
        reason = "out_of_stock" if error.code == "out_of_stock" else "not_available"
        return SyncConflict(variant_id, "quantity", reason, wanted, have)
    return conflict


def _seen_prices(changes: list[LineChange]) -> dict[int, int]:
    """The last price the client showed for each variant, in the changes' order."""
    seen: dict[int, int] = {}
    for change in sorted(changes, key=lambda c: (c.variant_id, c.at)):
        if change.seen_price is not None:
            seen[change.variant_id] = change.seen_price
    return seen


def _available(session: Session, store: Store, view: CartView) -> dict[int, int]:
    room = inventory.available_quantities(session, store.id,
                                          [line.variant_id for line in view.lines])
    held = inventory.held_for_cart(session, store.id, view.cart_id) if view.cart_id else {}
    return {variant_id: units + held.get(variant_id, 0) for variant_id, units in room.items()}
