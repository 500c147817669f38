"""Stock: levels per variant per location, adjustments with a reason, the audit trail of every
movement, and the store's locations. Changes are ``commerce.inventory``'s ``do_adjust_stock``
and ``do_set_stock`` (one conditional UPDATE each, never below what checkouts hold)."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import func, select

from admin.api.pages import NO_NUL, Body, Id, Page, PageQuery, paginate
from admin.api.routing import endpoint, in_store
from commerce import inventory
from commerce.models import Location, Stock, StockMovement, Variant

Reason = Literal[inventory.ADJUSTMENT_REASONS]
MAX_UNITS = 1_000_000  # far above any shelf, far below a 32-bit column


class LocationOut(BaseModel):
    id: int
    name: str
    kind: str
    position: int
    active: bool


class LocationPage(Page[LocationOut]):
    pass


class LevelOut(BaseModel):
    id: int
    variant_id: int
    sku: str
    title: str
    location_id: int
    location_name: str
    on_hand: int
    reserved: int = Field(description="Held by checkouts in progress.")
    available: int = Field(description="on_hand - reserved: what can still be sold.")
    low_stock_threshold: int = Field(description="The variant's own, else the store's.")
    low: bool = Field(description="on_hand is at or below the threshold.")


class LevelPage(Page[LevelOut]):
    pass


class LevelQuery(PageQuery):
    variant_id: Id | None = None
    location_id: Id | None = None
    low: bool | None = Field(None, description="true: only levels at or below the threshold.")


class MovementOut(BaseModel):
    id: int
    stock_id: int
    variant_id: int
    location_id: int
    delta: int
    quantity_after: int
    reason: str
    note: str
    actor: str
    order_id: int | None
    created_at: datetime


class MovementPage(Page[MovementOut]):
    pass


class MovementQuery(PageQuery):
    variant_id: Id | None = None
    location_id: Id | None = None
    reason: Literal[(*inventory.ADJUSTMENT_REASONS, "sold")] | None = None


class Adjustment(Body):
    variant_id: Id
    location_id: Id
    delta: int = Field(ge=-MAX_UNITS, le=MAX_UNITS,
                       description="Units to add (negative: to remove); not 0.")
    reason: Reason
    note: str = Field("", max_length=200, pattern=NO_NUL)


class StockCount(Body):
    variant_id: Id
    location_id: Id
    quantity: int = Field(ge=0, le=MAX_UNITS, description="Units on hand, as counted.")
    reason: Reason = "correction"
    note: str = Field("", max_length=200, pattern=NO_NUL)


class AdjustmentOut(BaseModel):
    level: LevelOut
    movement: MovementOut | None = Field(description="null: the count matched, nothing "
                                                     "changed.")


def location_out(location: Location) -> dict:
    return LocationOut.model_validate(location, from_attributes=True).model_dump(mode="json")


def level_out(stock: Stock, variant: Variant, store_threshold: int) -> dict:
    threshold = (variant.low_stock_threshold if variant.low_stock_threshold is not None
                 else store_threshold)
    return LevelOut(id=stock.id, variant_id=variant.id, sku=variant.sku, title=variant.title,
                    location_id=stock.location_id, location_name=stock.location.name,
                    on_hand=stock.quantity, reserved=stock.reserved, available=stock.available,
                    low_stock_threshold=threshold,
                    low=stock.quantity <= threshold).model_dump(mode="json")


def movement_out(movement: StockMovement, stock: Stock) -> dict:
    return MovementOut(id=movement.id, stock_id=stock.id, variant_id=stock.variant_id,
                       location_id=stock.location_id, delta=movement.delta,
                       quantity_after=movement.quantity_after, reason=movement.reason,
                       note=movement.note, actor=movement.actor, order_id=movement.order_id,
                       created_at=movement.created_at).model_dump(mode="json")


def _variants(call, ids) -> dict[int, Variant]:
    """The page's variants in one query."""
    ids = set(ids)
    return {v.id: v for v in call.db.scalars(select(Variant).where(
        Variant.store_id == call.store_id, Variant.id.in_(ids)))} if ids else {}


def _level(call, stock: Stock) -> dict:
    variant = _variants(call, [stock.variant_id])[stock.variant_id]
    return level_out(stock, variant, call.store.low_stock_threshold)


# -- locations ----------------------------------------------------------------------------------
@endpoint("GET", "/locations", "inventory:read", summary="List stock locations",
          tag="inventory", query=PageQuery, response=LocationPage)
def list_locations(call):
    return paginate(call.db, select(Location).where(Location.store_id == call.store_id),
                    Location.id, call.query, location_out)


# -- levels -------------------------------------------------------------------------------------
@endpoint("GET", "/inventory-levels", "inventory:read",
          summary="Stock per variant per location", tag="inventory", query=LevelQuery,
          response=LevelPage)
def list_levels(call):
    query, store = call.query, call.store
    statement = select(Stock).where(Stock.store_id == call.store_id)
    if query.variant_id is not None:
        statement = statement.where(Stock.variant_id == query.variant_id)
    if query.location_id is not None:
        statement = statement.where(Stock.location_id == query.location_id)
    if query.low is not None:
        threshold = func.coalesce(Variant.low_stock_threshold, store.low_stock_threshold)
        is_low = Stock.quantity <= threshold
        statement = statement.join(Variant, Variant.id == Stock.variant_id).where(
            is_low if query.low else ~is_low)
    page = paginate(call.db, statement, Stock.id, query, lambda stock: stock)
    variants = _variants(call, (stock.variant_id for stock in page["items"]))
    page["items"] = [level_out(stock, variants[stock.variant_id], store.low_stock_threshold)
                     for stock in page["items"]]
    return page


@endpoint("GET", "/inventory-levels/<int:level_id>", "inventory:read",
          summary="One stock level", tag="inventory", response=LevelOut)
def get_level(call, level_id: int):
    return _level(call, in_store(call, Stock, level_id, "stock level"))


def _change_out(call, change: inventory.StockChange) -> dict:
    return {"level": _level(call, change.stock),
            "movement": (movement_out(change.movement, change.stock)
                         if change.movement is not None else None)}


@endpoint("POST", "/inventory-levels/adjust", "inventory:write",
          summary="Add or remove units, with a reason", tag="inventory", body=Adjustment,
          response=AdjustmentOut)
def adjust(call):
    body = call.body
    return _change_out(call, inventory.do_adjust_stock(
        call.db, call.store, body.variant_id, body.location_id, body.delta, body.reason,
        actor=call.principal.name, note=body.note.strip()))


@endpoint("POST", "/inventory-levels/set", "inventory:write",
          summary="Set units on hand to a count, with a reason", tag="inventory",
          body=StockCount, response=AdjustmentOut)
def set_count(call):
    body = call.body
    return _change_out(call, inventory.do_set_stock(
        call.db, call.store, body.variant_id, body.location_id, body.quantity, body.reason,
        actor=call.principal.name, note=body.note.strip()))


# -- the audit trail ----------------------------------------------------------------------------
@endpoint("GET", "/inventory-movements", "inventory:read",
          summary="Every change to stock, newest first", tag="inventory", query=MovementQuery,
          response=MovementPage)
def list_movements(call):
    query = call.query
    statement = select(StockMovement).join(Stock, Stock.id == StockMovement.stock_id).where(
        StockMovement.store_id == call.store_id)
    if query.variant_id is not None:
        statement = statement.where(Stock.variant_id == query.variant_id)
    if query.location_id is not None:
        statement = statement.where(Stock.location_id == query.location_id)
    if query.reason is not None:
        statement = statement.where(StockMovement.reason == query.reason)
    page = paginate(call.db, statement, StockMovement.id, query, lambda movement: movement)
    ids = {movement.stock_id for movement in page["items"]}
    stocks = {s.id: s for s in call.db.scalars(select(Stock).where(
        Stock.store_id == call.store_id, Stock.id.in_(ids)))} if ids else {}
    page["items"] = [movement_out(m, stocks[m.stock_id]) for m in page["items"]]
    return page
