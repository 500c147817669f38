"""Offline sync of a shopper's cart: kept on a merchant's mobile app while offline, merged back.

``POST /sync/cart`` (``orders:write``: filling a shopper's cart is the first step of taking their
order, which counter staff may do; ``carts:write`` is the owner's and manager's only). The
merge rule is ``RULE`` below; it is also the OpenAPI description of the request body.
"""
from __future__ import annotations

from datetime import datetime
from itertools import groupby
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from admin.api.pages import Amount, Body, Id
from admin.api.routing import endpoint
from admin.api.sync import Moment
from commerce import carts, inventory
from commerce.carts import MAX_LINE_QUANTITY
from commerce.catalog import get_variant
from commerce.customers import find_customer_by_phone, get_or_create_customer
from commerce.db import utcnow
from commerce.errors import DomainError, NotFound
from commerce.phones import to_e164

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

Reason = Literal["server_newer", "out_of_stock", "max_quantity", "not_available",
                 "price_changed"]


class CartChange(Body):
    op: Literal["add", "set", "remove"]
    variant_id: Id
    quantity: int = Field(0, ge=0, le=MAX_LINE_QUANTITY,
                          description="add: at least 1; set: 0 removes; remove: leave out.")
    at: Moment = Field(description="When the change was made, by the client's clock.")
    seen_price: Amount | None = Field(None, description="The unit price the client showed.")

    @model_validator(mode="after")
    def _quantity_fits_op(self):
        if self.op == "add" and self.quantity < 1:
            raise ValueError("add needs a quantity of at least 1")
        if self.op == "remove" and self.quantity:
            raise ValueError("remove takes no quantity")
        return self


class CartSync(Body):
    __doc__ = RULE
    client_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$",
                           description="The device (or app install) that kept the cart.")
    phone: str = Field(min_length=3, max_length=20, description="The shopper's phone.")
    last_sync: Moment | None = Field(None, description="new_sync_timestamp of the last sync.")
    local_changes: list[CartChange] = Field(default_factory=list, max_length=200)


class SyncedLine(BaseModel):
    variant_id: int
    title: str
    quantity: int
    unit_price: int = Field(description="Minor units, the server's price now.")
    total: int
    available: int = Field(description="Units this cart may hold now.")


class SyncedCart(BaseModel):
    cart_id: int | None
    currency: str
    lines: list[SyncedLine]
    subtotal: int
    item_count: int


class SyncConflict(BaseModel):
    variant_id: int
    field: Literal["quantity", "price"]
    reason: Reason
    client_value: int = Field(description="The quantity (or price) the client wanted (saw).")
    server_value: int = Field(description="The quantity (or price) the server kept.")


class CartSyncAnswer(BaseModel):
    __doc__ = RULE
    client_id: str
    server_changes: SyncedCart
    new_sync_timestamp: datetime
    conflicts: list[SyncConflict]


def _conflict(variant_id: int, reason: Reason, client: int, server: int,
              field: str = "quantity") -> SyncConflict:
    return SyncConflict(variant_id=variant_id, field=field, reason=reason, client_value=client,
                        server_value=server)


def _wanted(changes: list[CartChange], holding: int) -> int:
    for change in changes:
        holding = (holding + change.quantity if change.op == "add"
                   else change.quantity if change.op == "set" else 0)
    return holding


def _apply(call, customer_id: int, variant_id: int, wanted: int, holding: int,
           room: int) -> SyncConflict | None:
    """Bring one line to ``wanted`` (cut to ``room``) through the core; a conflict or None."""
    store, db = call.store, call.db
    kept, conflict = wanted, None
    if wanted > 0:
        try:
            get_variant(db, store.id, variant_id)  # on sale, in this store
        except NotFound:
            return _conflict(variant_id, "not_available", wanted, holding)
        kept = min(wanted, room, MAX_LINE_QUANTITY)
        if kept < wanted:
            reason = ("out_of_stock" if room < min(wanted, MAX_LINE_QUANTITY)
                      else "max_quantity")
            conflict = _conflict(variant_id, reason, wanted, kept)
    if kept == holding:
        return conflict
    try:
        if holding and kept:
            carts.do_set_quantity(db, store, customer_id, variant_id, kept)
        elif holding:
            carts.do_set_quantity(db, store, customer_id, variant_id, 0)
        else:
            carts.do_add_to_cart(db, store, customer_id, variant_id, kept)
    except DomainError as error:  # sold meanwhile: the line stays as it was
        reason = "out_of_stock" if error.code == "out_of_stock" else "not_available"
        return _conflict(variant_id, reason, wanted, holding)
    return conflict


@endpoint("POST", "/sync/cart", "orders:write", tag="sync", body=CartSync,
          response=CartSyncAnswer,
          summary="Merge a shopper's cart kept offline: last write wins per line (a tie goes "
                  "to the server); stock and price always from the server")
def sync_cart(call):
    body, store, db = call.body, call.store, call.db
    phone = to_e164(body.phone, store.country)
    # Only a change makes a customer of a phone: looking at an empty cart registers no one.
    customer = (get_or_create_customer(db, store, phone) if body.local_changes
                else find_customer_by_phone(db, store, phone))
    if customer is None:
        return _answer(body, store, carts.view_lines(store, None), [], utcnow(), {}, {})
    cart = carts.get_active_cart(db, store.id, customer.id)
    holding = {line.variant_id: line.quantity for line in cart.lines} if cart else {}
    held = inventory.held_for_cart(db, store.id, cart.id) if cart else {}
    # When the server last wrote each line, read before any change below moves them: a line's
    # own time; one the cart does not hold keeps none, so the cart's last change stands in.
    written = {line.variant_id: line.updated_at for line in cart.lines} if cart else {}
    cart_written = cart.last_activity_at if cart else None
    ordered = sorted(enumerate(body.local_changes),
                     key=lambda item: (item[1].variant_id, item[1].at, item[0]))
    conflicts: list[SyncConflict] = []
    seen_prices: dict[int, int] = {}
    for variant_id, group in groupby(ordered, key=lambda item: item[1].variant_id):
        changes = [change for _, change in group]
        have = holding.get(variant_id, 0)
        wanted = _wanted(changes, have)
        seen = [change.seen_price for change in changes if change.seen_price is not None]
        if seen:
            seen_prices[variant_id] = seen[-1]
        server_at = written.get(variant_id, cart_written)
        quiet = server_at is None or (body.last_sync is not None and server_at <= body.last_sync)
        if not quiet and changes[-1].at <= server_at:  # the server wrote later (or as late)
            if wanted != have:
                conflicts.append(_conflict(variant_id, "server_newer", wanted, have))
            continue
        if wanted == have:
            continue
        room = inventory.available_quantity(db, store.id, variant_id) + held.get(variant_id, 0)
        conflict = _apply(call, customer.id, variant_id, wanted, have, room)
        if conflict is not None:
            conflicts.append(conflict)
    view = carts.view_cart(db, store, customer.id)
    now = utcnow()  # after the changes: the next sync sees this cart as unchanged since
    ids = [line.variant_id for line in view.lines]
    room = inventory.available_quantities(db, store.id, ids)
    held = inventory.held_for_cart(db, store.id, view.cart_id) if view.cart_id else {}
    for line in view.lines:
        seen = seen_prices.get(line.variant_id)
        if seen is not None and seen != line.unit_price.amount:
            conflicts.append(_conflict(line.variant_id, "price_changed", seen,
                                       line.unit_price.amount, field="price"))
    conflicts.sort(key=lambda c: (c.variant_id, c.field == "price"))
    return _answer(body, store, view, conflicts, now, room, held)


def _answer(body: CartSync, store, view: carts.CartView, conflicts: list[SyncConflict],
            now: datetime, room: dict[int, int], held: dict[int, int]) -> dict:
    return CartSyncAnswer(
        client_id=body.client_id,
        server_changes=SyncedCart(
            cart_id=view.cart_id, currency=store.currency, subtotal=view.subtotal.amount,
            item_count=view.item_count, lines=[SyncedLine(
                variant_id=line.variant_id, title=line.title, quantity=line.quantity,
                unit_price=line.unit_price.amount, total=line.total.amount,
                available=room[line.variant_id] + held.get(line.variant_id, 0))
                for line in sorted(view.lines, key=lambda ln: ln.variant_id)]),
        new_sync_timestamp=now, conflicts=conflicts).model_dump(mode="json")
