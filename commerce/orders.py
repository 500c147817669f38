"""Placing orders from carts, and what the shopper is told about them."""
from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from commerce import events
from commerce.carts import get_active_cart
from commerce.errors import EmptyCart, NotFound, OutOfStock
from commerce.models import Cart, Order, OrderLine, Store, Variant

log = logging.getLogger(__name__)

PAYMENT_METHODS = ("cod",)  # cash on delivery; the payment providers arrive with payments/


def allocate_stock(session: Session, store_id: int, wants: dict[int, int]) -> None:
    """Take ``{variant_id: quantity}`` off the shelf, or raise ``OutOfStock`` and take nothing.

    One conditional UPDATE per variant (never read-then-write), in primary-key order so two
    checkouts that share variants lock them in the same order and cannot deadlock.
    """
    for variant_id in sorted(wants):
        quantity = wants[variant_id]
        result = session.execute(
            update(Variant)
            .where(Variant.id == variant_id, Variant.store_id == store_id,
                   Variant.stock >= quantity)
            .values(stock=Variant.stock - quantity)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            session.rollback()
            variant = session.get(Variant, variant_id)
            available = variant.stock if variant else 0
            title = variant.title if variant else "That item"
            raise OutOfStock(
                f"Sorry, only {available} {title} left." if available
                else f"Sorry, {title} is sold out.",
                variant_id=variant_id, available=available,
            )


def _next_order_number(session: Session, store_id: int) -> int:
    return session.execute(
        update(Store)
        .where(Store.id == store_id)
        .values(next_order_number=Store.next_order_number + 1)
        .returning(Store.next_order_number)
    ).scalar_one() - 1


def do_place_order(
    session: Session, store: Store, customer_id: int, cart_id: int | None = None,
    payment_method: str = "cod",
) -> Order:
    """Turn the customer's cart into an order; commits and records ``order.placed``.

    Idempotent per cart: placing an already ordered cart returns the order it became.
    """
    if payment_method not in PAYMENT_METHODS:
        raise NotFound(f"Payment method {payment_method!r} is not offered.")
    if cart_id is None:
        cart = get_active_cart(session, store.id, customer_id)
        if cart is None:
            raise EmptyCart("Your cart is empty.")
        cart_id = cart.id
    cart = session.scalar(
        select(Cart)
        .where(Cart.id == cart_id, Cart.store_id == store.id, Cart.customer_id == customer_id)
        .with_for_update()  # a double-tapped "confirm" waits here, then sees the order
    )
    if cart is None:
        raise NotFound("That cart does not exist.")
    if cart.status == "ordered":
        return _order_for_cart(session, store.id, cart.id)
    if not cart.lines:
        session.rollback()
        raise EmptyCart("Your cart is empty.")

    allocate_stock(session, store.id, {line.variant_id: line.quantity for line in cart.lines})
    order = Order(
        store_id=store.id, number=_next_order_number(session, store.id), customer_id=customer_id,
        cart_id=cart.id, payment_method=payment_method, currency=store.currency,
        total=sum(line.variant.price * line.quantity for line in cart.lines),
        lines=[
            OrderLine(store_id=store.id, variant_id=line.variant_id, title=line.variant.title,
                      sku=line.variant.sku, unit_price=line.variant.price,
                      quantity=line.quantity)
            for line in cart.lines
        ],
    )
    session.add(order)
    cart.status = "ordered"
    try:
        session.flush()
    except IntegrityError:  # the same cart was placed concurrently; that order stands
        session.rollback()
        return _order_for_cart(session, store.id, cart_id)
    events.record(session, store.id, events.ORDER_PLACED,
                  {"order_id": order.id, "number": order.number})
    session.commit()
    log.info("store %s: order #%s placed (%s %s)", store.id, order.number, order.total,
             order.currency)
    return order


def _order_for_cart(session: Session, store_id: int, cart_id: int) -> Order:
    return session.scalars(
        select(Order).where(Order.store_id == store_id, Order.cart_id == cart_id)
    ).one()


def get_order(session: Session, store_id: int, order_id: int) -> Order:
    order = session.scalar(select(Order).where(Order.id == order_id, Order.store_id == store_id))
    if order is None:
        raise NotFound("No such order.")
    return order


def sms_receipt(order: Order, store: Store, locale: str = "en", limit: int = 306) -> str:
    """A plain-text receipt within two SMS parts (2 x 153); long orders end in "+N more"."""
    head = f"{store.name}: order #{order.number} received."
    foot = f"Total {order.total_money.format(locale)}. Pay cash on delivery."
    if store.contact_phone:
        foot += f" Help: {store.contact_phone}"
    items = [f"{line.quantity}x {line.title}" for line in order.lines]

    def compose(shown: int) -> str:
        hidden = len(items) - shown
        listed = items[:shown] + ([f"+{hidden} more"] if hidden else [])
        return f"{head} {', '.join(listed)}. {foot}"

    for shown in range(len(items), 0, -1):
        if len(compose(shown)) <= limit:
            return compose(shown)
    return compose(0)
