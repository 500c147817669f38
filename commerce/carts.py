"""Carts: one active cart per customer per store, shared by every channel."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from commerce.catalog import get_variant
from commerce.errors import InvalidQuantity, OutOfStock
from commerce.models import Cart, CartLine, Store
from commerce.money import Money

MAX_LINE_QUANTITY = 99  # a feature-phone shopper typing 1000 by mistake should not lock stock


@dataclass(frozen=True)
class CartLineView:
    variant_id: int
    title: str
    quantity: int
    unit_price: Money
    total: Money


@dataclass(frozen=True)
class CartView:
    cart_id: int | None
    lines: tuple[CartLineView, ...]
    total: Money

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)


def get_active_cart(session: Session, store_id: int, customer_id: int) -> Cart | None:
    return session.scalar(
        select(Cart).where(
            Cart.store_id == store_id, Cart.customer_id == customer_id, Cart.status == "active"
        )
    )


def _get_or_create_active_cart(session: Session, store_id: int, customer_id: int) -> Cart:
    cart = get_active_cart(session, store_id, customer_id)
    if cart is not None:
        return cart
    try:
        with session.begin_nested():
            cart = Cart(store_id=store_id, customer_id=customer_id)
            session.add(cart)
    except IntegrityError:  # another channel opened it a moment ago
        cart = get_active_cart(session, store_id, customer_id)
    return cart


def check_quantity(quantity: object) -> int:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
        raise InvalidQuantity("Quantity must be a whole number of at least 1.")
    if quantity > MAX_LINE_QUANTITY:
        raise InvalidQuantity(f"You can buy at most {MAX_LINE_QUANTITY} of one item.")
    return quantity


def do_add_to_cart(
    session: Session, store: Store, customer_id: int, variant_id: int, quantity: int
) -> CartView:
    """Add ``quantity`` of a variant to the customer's cart; commits."""
    check_quantity(quantity)
    variant = get_variant(session, store.id, variant_id)
    cart = _get_or_create_active_cart(session, store.id, customer_id)
    line = next((ln for ln in cart.lines if ln.variant_id == variant.id), None)
    wanted = quantity + (line.quantity if line else 0)
    if wanted > MAX_LINE_QUANTITY:
        session.rollback()
        raise InvalidQuantity(f"You can buy at most {MAX_LINE_QUANTITY} of one item.")
    if wanted > variant.stock:
        session.rollback()
        raise OutOfStock(
            f"Only {variant.stock} {variant.title} left.", variant_id=variant.id,
            available=variant.stock,
        )
    if line is None:
        cart.lines.append(CartLine(store_id=store.id, variant_id=variant.id, quantity=quantity))
    else:
        line.quantity = wanted
    session.commit()
    return view_cart(session, store, customer_id)


def view_cart(session: Session, store: Store, customer_id: int) -> CartView:
    cart = get_active_cart(session, store.id, customer_id)
    lines = []
    for line in cart.lines if cart else ():
        unit = store.money(line.variant.price)
        lines.append(CartLineView(line.variant_id, line.variant.title, line.quantity, unit,
                                  unit * line.quantity))
    total = sum((ln.total for ln in lines), Money.zero(store.currency))
    return CartView(cart.id if cart else None, tuple(lines), total)
