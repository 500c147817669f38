"""Offline sync of a shopper's cart: kept on a merchant's mobile app while offline, merged back.

``POST /sync/cart`` (``orders:write``: filling a shopper's cart is the first step of taking their
order, which counter staff may do; ``carts:write`` is the owner's and manager's only). The
merge rule is ``commerce.cart_sync.RULE``; it is also the OpenAPI description of the request body.
"""
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from admin.api.pages import Amount, Body, Id
from admin.api.routing import endpoint
from admin.api.sync import Moment
from commerce import carts
from commerce.cart_sync import RULE, CartSynced, LineChange, do_sync_cart
from commerce.carts import MAX_LINE_QUANTITY
from commerce.customers import find_customer_by_phone, get_or_create_customer
from commerce.db import utcnow
from commerce.phones import to_e164

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
        return _answer(body, store, CartSynced(carts.view_lines(store, None), {}, [], utcnow()))
    changes = [LineChange(c.op, c.variant_id, c.quantity, c.at, c.seen_price)
               for c in body.local_changes]
    return _answer(body, store, do_sync_cart(db, store, customer.id, changes, body.last_sync))


def _answer(body: CartSync, store, synced: CartSynced) -> dict:
    view = synced.cart
    return CartSyncAnswer(
        client_id=body.client_id,
        server_changes=SyncedCart(
            cart_id=view.cart_id, currency=store.currency, subtotal=view.subtotal.amount,
            item_count=view.item_count, lines=[SyncedLine(
                variant_id=line.variant_id, title=line.title, quantity=line.quantity,
                unit_price=line.unit_price.amount, total=line.total.amount,
                available=synced.available[line.variant_id])
                for line in sorted(view.lines, key=lambda ln: ln.variant_id)]),
        new_sync_timestamp=synced.synced_at,
        conflicts=[SyncConflict(**asdict(c)) for c in synced.conflicts]).model_dump(mode="json")
