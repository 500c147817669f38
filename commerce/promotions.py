"""Discount codes: percentage or fixed, minimum order, validity window, usage limits.

Shoppers' side: ``check_discount_code`` (may this cart use it?) and ``redeem`` at checkout. The
merchant's side: ``check_discount`` then ``do_create_discount_code`` / ``do_update_discount_code``
(they commit); a code is never deleted, only switched off (``active=False``), because orders
name it.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from commerce import db
from commerce.catalog import UNCHANGED
from commerce.db import utcnow
from commerce.errors import N_, DomainError, NotFound
from commerce.models import DiscountCode, DiscountRedemption, Order, Store

KINDS = ("percentage", "fixed")
FULL_PERCENT = 10_000  # basis points: 100 %
MAX_VALUE = 2**31 - 1  # amounts and counts are 32-bit integer columns on PostgreSQL
CODE = re.compile(r"[A-Z0-9_-]*[A-Z0-9][A-Z0-9_-]*")  # once spaces are dropped
MAX_CODE = 40


class DiscountRefused(DomainError):
    code = "discount_refused"


class InvalidDiscount(DomainError):
    code = "invalid_discount"


class DiscountCodeTaken(DomainError):
    code = "code_taken"


def normalise_code(code: str) -> str:
    return "".join(code.split()).upper()


def check_discount_code(session: Session, store: Store, code: str, customer_id: int | None,
                        subtotal: int, now: datetime | None = None) -> DiscountCode:
    """The usable discount for this customer and subtotal, or ``DiscountRefused`` saying why."""
    now = now or utcnow()
    discount = session.scalar(select(DiscountCode).where(
        DiscountCode.store_id == store.id, DiscountCode.code == normalise_code(code)))
    if discount is None or not discount.active:
        raise DiscountRefused(N_("'{code}' is not a valid discount code."),
                              values={"code": code.strip()[:40]}, reason="unknown")
    if discount.starts_at and now < discount.starts_at:
        raise DiscountRefused(N_("{code} is not valid yet."), values={"code": discount.code},
                              reason="not_started")
    if discount.ends_at and now >= discount.ends_at:
        raise DiscountRefused(N_("{code} has expired."), values={"code": discount.code},
                              reason="expired")
    if discount.usage_limit is not None and discount.times_used >= discount.usage_limit:
        raise DiscountRefused(N_("{code} has been used up."), values={"code": discount.code},
                              reason="usage_limit")
    if subtotal < discount.min_order:
        raise DiscountRefused(N_("{code} needs an order of at least {amount}."), values={
            "code": discount.code, "amount": store.money(discount.min_order)},
            reason="min_order")
    if customer_id is not None:
        if discount.first_order_only and _orders_placed(session, store.id, customer_id):
            raise DiscountRefused(N_("{code} is for a first order only."),
                                  values={"code": discount.code},
                                  reason="first_order_only")
        if discount.per_customer_limit is not None and _uses_by(
                session, discount.id, customer_id) >= discount.per_customer_limit:
            raise DiscountRefused(N_("You have already used {code}."),
                                  values={"code": discount.code},
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
        raise DiscountRefused(N_("{code} has been used up."), values={"code": normalise_code(code)},
                              reason="usage_limit")
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


# -- the merchant's codes -----------------------------------------------------------------------
def find_discount_code(session: Session, store_id: int, discount_id: int) -> DiscountCode:
    """One of the store's codes, active or not: the merchant's view."""
    discount = session.scalar(select(DiscountCode).where(DiscountCode.id == discount_id,
                                                         DiscountCode.store_id == store_id))
    if discount is None:
        raise NotFound("No such discount code in this store.")
    return discount


def check_code(code: object) -> str:
    """Letters, digits, ``_`` and ``-`` (at least one letter or digit), kept upper-case with
    spaces dropped: ``"karibu 10"`` is ``KARIBU10``."""
    normal = normalise_code(code) if isinstance(code, str) else ""
    if not CODE.fullmatch(normal) or len(normal) > MAX_CODE:
        raise InvalidDiscount(f"A code is 1 to {MAX_CODE} letters and digits (and _ or -), "
                              "like KARIBU10.")
    return normal


def _whole(value: object, what: str, low: int, nullable: bool = False) -> int | None:
    if value is None and nullable:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= MAX_VALUE:
        raise InvalidDiscount(f"{what} must be a whole number from {low} to {MAX_VALUE}.")
    return value


def _moment(value: object, what: str) -> datetime | None:
    if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
        raise InvalidDiscount(f"{what} must be a time with its time zone.")
    return value.astimezone(timezone.utc) if value is not None else None


def _flag(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidDiscount(f"{what} must be true or false.")
    return value


def check_discount(*, kind: object, value: object, min_order: object = 0,
                   starts_at: object = None, ends_at: object = None,
                   usage_limit: object = None, per_customer_limit: object = None,
                   first_order_only: object = False, active: object = True,
                   times_used: int = 0) -> dict:
    """A code's terms, checked together (``times_used``: the uses already made, which a
    usage limit may not go below). Column values, ready to set."""
    if kind not in KINDS:
        raise InvalidDiscount(f"A discount is one of {', '.join(KINDS)}.")
    terms = {"kind": kind, "value": _whole(value, "value", 1),
             "min_order": _whole(min_order, "min_order", 0),
             "starts_at": _moment(starts_at, "starts_at"), "ends_at": _moment(ends_at, "ends_at"),
             "usage_limit": _whole(usage_limit, "usage_limit", 1, nullable=True),
             "per_customer_limit": _whole(per_customer_limit, "per_customer_limit", 1,
                                          nullable=True),
             "first_order_only": _flag(first_order_only, "first_order_only"),
             "active": _flag(active, "active")}
    if kind == "percentage" and terms["value"] > FULL_PERCENT:
        raise InvalidDiscount("A percentage is at most 10000 basis points (100 %).")
    if terms["starts_at"] and terms["ends_at"] and terms["ends_at"] <= terms["starts_at"]:
        raise InvalidDiscount("ends_at must come after starts_at.")
    if terms["usage_limit"] is not None and times_used > terms["usage_limit"]:
        raise InvalidDiscount(f"It has been used {times_used} times already: usage_limit "
                              "cannot be lower.")
    return terms


def _check_code_free(session: Session, store_id: int, code: str,
                     discount_id: int | None = None) -> None:
    with session.no_autoflush:
        taken = session.scalar(select(DiscountCode.id).where(
            DiscountCode.store_id == store_id, DiscountCode.code == code,
            DiscountCode.id != (discount_id or 0)))
    if taken is not None:
        raise DiscountCodeTaken(f"This store already has the code {code}.")


@contextmanager
def _committing(session: Session, code: str) -> Iterator[None]:
    """``commerce.db.committing``; the same code saved by another request a moment ago (the
    unique constraint) is ``DiscountCodeTaken``."""
    try:
        with db.committing(session):
            yield
    except IntegrityError:
        raise DiscountCodeTaken(f"This store already has the code {code}.") from None


TERMS = ("kind", "value", "min_order", "starts_at", "ends_at", "usage_limit",
         "per_customer_limit", "first_order_only", "active")


def do_create_discount_code(session: Session, store: Store, code: str, **terms: Any
                            ) -> DiscountCode:
    """A new code; ``terms`` as ``check_discount`` takes them (``kind`` and ``value``
    needed)."""
    unknown = set(terms) - set(TERMS)
    if unknown:
        raise InvalidDiscount(f"A discount has no {', '.join(sorted(unknown))}.")
    code = check_code(code)
    checked = check_discount(**terms)
    _check_code_free(session, store.id, code)
    with _committing(session, code):
        discount = DiscountCode(store_id=store.id, code=code, times_used=0, **checked)
        session.add(discount)
    return discount


def do_update_discount_code(session: Session, store: Store, discount_id: int, *,
                            code: Any = UNCHANGED, **changes: Any) -> DiscountCode:
    """Change some of a code's terms (``TERMS``) or the code itself; checked with what the
    change leaves (a percentage cannot grow past 100 %, a limit cannot fall below the uses
    made). ``active=False`` switches it off; it is never deleted."""
    discount = find_discount_code(session, store.id, discount_id)
    unknown = set(changes) - set(TERMS)
    if unknown:
        raise InvalidDiscount(f"A discount has no {', '.join(sorted(unknown))}.")
    new_code = check_code(code) if code is not UNCHANGED else discount.code
    checked = check_discount(times_used=discount.times_used, **{
        name: changes.get(name, getattr(discount, name)) for name in TERMS})
    if new_code != discount.code:
        _check_code_free(session, store.id, new_code, discount.id)
    with _committing(session, new_code):
        discount.code = new_code
        for name, value in checked.items():
            setattr(discount, name, value)
    return discount
