"""Carts shoppers are filling now (read-only): what is in them, at today's prices, and whether
the abandoned-cart reminder has gone out."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import select

from admin.api.pages import Id, Page, PageQuery, paginate
from admin.api.routing import endpoint
from commerce import carts
from commerce.models import Cart, Customer


class CartOut(BaseModel):
    id: int
    status: str = Field(description="active, ordered or merged.")
    customer_id: int | None = Field(description="null: a guest cart.")
    customer_phone: str | None
    item_count: int
    subtotal: int = Field(description="At today's prices, in minor units of currency.")
    currency: str
    delivery_method: str | None
    discount_code: str | None
    last_activity_at: datetime
    abandoned_at: datetime | None = Field(description="When it was counted abandoned.")
    created_at: datetime


class CartPage(Page[CartOut]):
    pass


class CartLineOut(BaseModel):
    variant_id: int
    sku: str
    title: str
    quantity: int
    unit_price: int = Field(description="Today's price.")
    price_when_added: int
    total: int


class CartDetail(CartOut):
    lines: list[CartLineOut]
    weight_grams: int
    shipping_zone_id: int | None
    pickup_point_id: int | None
    address_text: str
    address_landmark: str


class CartQuery(PageQuery):
    customer_id: Id | None = None
    abandoned: bool | None = Field(None, description="true: only carts counted abandoned.")


def cart_fields(store, cart: Cart, phone: str | None) -> dict:
    view = carts.view_lines(store, cart)
    return dict(id=cart.id, status=cart.status, customer_id=cart.customer_id,
                customer_phone=phone, item_count=view.item_count,
                subtotal=view.subtotal.amount, currency=store.currency,
                delivery_method=cart.delivery_method, discount_code=cart.discount_code,
                last_activity_at=cart.last_activity_at, abandoned_at=cart.abandoned_at,
                created_at=cart.created_at)


def _phones(call, customer_ids) -> dict[int, str]:
    ids = {i for i in customer_ids if i is not None}
    return dict(call.db.execute(select(Customer.id, Customer.phone).where(
        Customer.store_id == call.store_id, Customer.id.in_(ids))).all()) if ids else {}


@endpoint("GET", "/carts", "carts:read", summary="List active carts", query=CartQuery,
          response=CartPage)
def list_carts(call):
    query, store = call.query, call.store
    statement = select(Cart).where(Cart.store_id == call.store_id, Cart.status == "active")
    if query.customer_id is not None:
        statement = statement.where(Cart.customer_id == query.customer_id)
    if query.abandoned is not None:
        statement = statement.where(Cart.abandoned_at.is_not(None) if query.abandoned
                                    else Cart.abandoned_at.is_(None))
    page = paginate(call.db, statement, Cart.id, query, lambda cart: cart)
    phones = _phones(call, (cart.customer_id for cart in page["items"]))
    page["items"] = [CartOut(**cart_fields(store, cart, phones.get(cart.customer_id)))
                     .model_dump(mode="json") for cart in page["items"]]
    return page


@endpoint("GET", "/carts/<int:cart_id>", "carts:read", summary="One cart, line by line",
          response=CartDetail)
def get_cart(call, cart_id: int):
    store = call.store
    cart = carts.get_cart(call.db, call.store_id, cart_id)
    view = carts.view_lines(store, cart)
    added = {line.variant_id: line for line in cart.lines}
    lines = [CartLineOut(variant_id=line.variant_id, sku=added[line.variant_id].variant.sku,
                         title=line.title, quantity=line.quantity,
                         unit_price=line.unit_price.amount,
                         price_when_added=added[line.variant_id].unit_price,
                         total=line.total.amount) for line in view.lines]
    return CartDetail(**cart_fields(store, cart, _phones(call, [cart.customer_id]).get(
        cart.customer_id)), lines=lines, weight_grams=view.weight_grams,
        shipping_zone_id=cart.shipping_zone_id, pickup_point_id=cart.pickup_point_id,
        address_text=cart.address_text, address_landmark=cart.address_landmark,
    ).model_dump(mode="json")
