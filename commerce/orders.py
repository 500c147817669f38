"""Reading orders, and what the shopper is told about them. Placing: see ``checkout``."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from commerce.errors import N_, NotFound
from commerce.models import Order, Store


def get_order(session: Session, store_id: int, order_id: int) -> Order:
    order = session.scalar(select(Order).where(Order.id == order_id, Order.store_id == store_id))
    if order is None:
        raise NotFound(N_("No such order."))
    return order


def repriced_titles(order: Order, prices_now: dict[int, int]) -> list[str]:
    """Titles of ``order``'s items whose price now (``{variant_id: minor units}``, as the cart
    has them) is not what the order paid: ordering again must not charge it unseen."""
    return [line.title for line in order.lines
            if line.variant_id in prices_now and prices_now[line.variant_id] != line.unit_price]


PAYMENT_LINES = {"cod": "Pay cash on delivery."}


def sms_receipt(order: Order, store: Store, locale: str = "en", limit: int = 306) -> str:
    """A plain-text receipt within two SMS parts (2 x 153); long orders end in "+N more"."""
    head = f"{store.name}: order #{order.number} received."
    foot = f"Total {order.total_money.format(locale)}."
    if order.payment_method in PAYMENT_LINES:
        foot += " " + PAYMENT_LINES[order.payment_method]
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
