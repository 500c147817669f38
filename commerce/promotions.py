"""Discount codes: percentage or fixed, minimum order, validity window, usage limits."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from commerce.db import utcnow
from commerce.errors import DomainError
from commerce.models import DiscountCode, DiscountRedemption, Order, Store


class DiscountRefused(DomainError):
    code = "discount_refused"


def normalise_code(code: str) -> str:
    return "".join(code.split()).upper()


def check_discount_code(session: Session, store: Store, code: str, customer_id: int | None,
                        subtotal: int, now: datetime | None = None) -> DiscountCode:
    """The usable discount for this customer and subtotal, or ``DiscountRefused`` saying why."""
    now = now or utcnow()
    discount = session.scalar(select(DiscountCode).where(
        DiscountCode.store_id == store.id, DiscountCode.code == normalise_code(code)))
    if discount is None or not discount.active:
        raise DiscountRefused(f"{code.strip()[:40]!r} is not a valid discount code.",
                              reason="unknown")
    if discount.starts_at and now < discount.starts_at:
        raise DiscountRefused(f"{discount.code} is not valid yet.", reason="not_started")
    if discount.ends_at and now >= discount.ends_at:
        raise DiscountRefused(f"{discount.code} has expired.", reason="expired")
    if discount.usage_limit is not None and discount.times_used >= discount.usage_limit:
        raise DiscountRefused(f"{discount.code} has been used up.", reason="usage_limit")
    if subtotal < discount.min_order:
        raise DiscountRefused(
            f"{discount.code} needs an order of at least "
            f"{store.money(discount.min_order).format(f'en_{store.country}')}.",
            reason="min_order")
    if customer_id is not None:
        if discount.first_order_only and _orders_placed(session, store.id, customer_id):
            raise DiscountRefused(f"{discount.code} is for a first order only.",
                                  reason="first_order_only")
        if discount.per_customer_limit is not None and _uses_by(
                session, discount.id, customer_id) >= discount.per_customer_limit:
            raise DiscountRefused(f"You have already used {discount.code}.",
                                  reason="per_customer_limit")
    return discount


def discount_amount(discount: DiscountCode, subtotal: int) -> int:
    """Minor units off the subtotal: never more than the subtotal, rounded half up."""
    if discount.kind == "percentage":
        amount = (subtotal * discount.value * 2 + 10000) // 20000
    else:
        amount = discount.value
    return min(amount, subtotal)


def redeem(session: Session, store: Store, code: str, order_id: int, customer_id: int) -> None:
    """Count one use of the code for this order, atomically within its total limit.

    Does not commit; raises ``DiscountRefused`` if the last use went to someone else first.
    """
    used = session.execute(
        update(DiscountCode)
        .where(DiscountCode.store_id == store.id, DiscountCode.code == normalise_code(code),
               or_(DiscountCode.usage_limit.is_(None),
                   DiscountCode.times_used < DiscountCode.usage_limit))
        .values(times_used=DiscountCode.times_used + 1)
        .returning(DiscountCode.id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if used is None:
        session.rollback()
        raise DiscountRefused(f"{normalise_code(code)} has been used up.", reason="usage_limit")
    session.add(DiscountRedemption(store_id=store.id, discount_code_id=used, order_id=order_id,
                                   customer_id=customer_id))


def _orders_placed(session: Session, store_id: int, customer_id: int) -> int:
    return session.scalar(select(func.count(Order.id)).where(
        Order.store_id == store_id, Order.customer_id == customer_id,
        Order.status.not_in(("draft", "cancelled"))))


def _uses_by(session: Session, discount_id: int, customer_id: int) -> int:
    return session.scalar(select(func.count(DiscountRedemption.id)).where(
        DiscountRedemption.discount_code_id == discount_id,
        DiscountRedemption.customer_id == customer_id))
