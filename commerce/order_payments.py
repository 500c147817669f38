"""Money received for an order, and the order's financial status derived from it.

``financial_status`` is never set by hand: like Shopify's, it follows from the succeeded
payments and the refunds. A partial payment leaves it ``pending``; once the payments cover the
total it is ``paid``; refunds make it ``partially_refunded`` and, when they reach what was paid,
``refunded``.

A provider's receipt counts once: payments are unique by ``(store_id, method, reference)``, and a
repeat (a retried callback, a double tap) returns the row already recorded. The one change a
repeat may bring is settling a ``pending`` payment as ``succeeded`` or ``failed``; a settled
payment never changes again.
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from commerce import events, order_flow
from commerce.checkout import PAYMENT_METHODS
from commerce.db import committing
from commerce.errors import DomainError
from commerce.models import Order, Payment, Refund, Store
from commerce.money import InvalidAmount, Money

PAYMENT_STATUSES = ("pending", "succeeded", "failed")  # what a merchant may record by hand


class CurrencyMismatch(DomainError):
    code = "currency_mismatch"


class InvalidPayment(DomainError):
    code = "invalid_payment"


class OrderNotPayable(DomainError):
    code = "order_not_payable"


class ReferenceInUse(DomainError):
    code = "reference_in_use"


# -- checking -----------------------------------------------------------------------------------
def check_amount(order: Order, amount: Money | int) -> int:
    """Minor units in the order's currency. A bare int is taken to be in that currency."""
    if isinstance(amount, Money):
        if amount.currency != order.currency:
            raise CurrencyMismatch(f"Order #{order.number} is in {order.currency}, "
                                   f"not {amount.currency}.")
        amount = amount.amount
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise InvalidAmount("An amount must be a whole number of minor units (cents).")
    if amount <= 0:
        raise InvalidAmount("An amount must be more than zero.")
    return amount


def check_payment_details(method: str, reference: str | None, status: str) -> str:
    """The reference, trimmed; raises ``InvalidPayment`` for anything we cannot record."""
    if method not in PAYMENT_METHODS:
        raise InvalidPayment(f"{method!r} is not a payment method we take.")
    if status not in PAYMENT_STATUSES:
        raise InvalidPayment(f"A payment is {', '.join(PAYMENT_STATUSES)}; not {status!r}.")
    reference = (reference or "").strip()
    # Without a reference a repeat could not be told from a second payment.
    if not reference:
        raise InvalidPayment("Please give the payment's receipt or reference number.")
    if len(reference) > 100:
        raise InvalidPayment("That reference is too long (100 characters at most).")
    return reference


# -- reading ------------------------------------------------------------------------------------
def paid_total(session: Session, store_id: int, order_id: int) -> int:
    """Minor units received for the order: succeeded payments only."""
    return int(session.scalar(
        select(func.coalesce(func.sum(Payment.amount), 0))
        .where(Payment.store_id == store_id, Payment.order_id == order_id,
               Payment.status == "succeeded")))


def refunded_total(session: Session, store_id: int, order_id: int) -> int:
    """Minor units given back or on their way back; a refund the provider refused counts for
    nothing (a pending one counts, so two refunds can never together exceed the payment)."""
    return int(session.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0))
        .where(Refund.store_id == store_id, Refund.order_id == order_id,
               Refund.status != "failed")))


def financial_status_for(total: int, paid: int, refunded: int) -> str:
    if refunded > 0:
        return "refunded" if refunded >= paid else "partially_refunded"
    if paid >= total and (paid > 0 or total == 0):  # a free order (a 100% code) is paid
        return "paid"
    return "pending"  # nothing, or only part, received yet


def payments_for(session: Session, store_id: int, order_id: int) -> list[Payment]:
    return list(session.scalars(select(Payment).where(
        Payment.store_id == store_id, Payment.order_id == order_id).order_by(Payment.id)))


# -- changing -----------------------------------------------------------------------------------
def refresh_financial_status(session: Session, store: Store, order: Order,
                             actor: str = "system") -> str:
    """Derive ``financial_status`` again after a payment or refund; does not commit.

    The moment an order becomes fully paid it records ``order.paid`` and, if it was awaiting
    payment, moves it to ``paid``. A cancelled order that is paid late keeps its status: the
    money is shown as received so the merchant can refund it.
    """
    session.flush()
    was = order.financial_status
    order.financial_status = financial_status_for(
        order.total, paid_total(session, store.id, order.id),
        refunded_total(session, store.id, order.id))
    if was == "pending" and order.financial_status == "paid" and order.status != "cancelled":
        if order.status == "pending_payment":
            order_flow.transition(session, store, order, "pay", actor, "payment received")
        events.record(session, store.id, events.ORDER_PAID,
                      {"order_id": order.id, "number": order.number})
    return order.financial_status


def note_money_not_owed(session: Session, store: Store, order: Order, payment: Payment) -> None:
    """After ``payment`` succeeded: if the order has now been paid more than it owes (two
    payments for one order, or a payment that came after the order was cancelled), record
    ``order.overpaid`` with the amount over, so the merchant is told to give it back. A
    shopper who paid twice should not have to notice it first. Does not commit.

    Refunds are left out of it: one may have given back goods (a missing item) as well as
    money paid twice, and either way the payment over the total is still to be given back."""
    owed = 0 if order.status == "cancelled" else order.total
    over = min(paid_total(session, store.id, order.id) - owed, payment.amount)  # this one's part
    if over > 0:
        events.record(session, store.id, events.ORDER_OVERPAID,
                      {"order_id": order.id, "number": order.number, "payment_id": payment.id,
                       "amount": over})


def settle_free_order(session: Session, store: Store, order: Order, actor: str) -> None:
    """An order with nothing to pay (a 100% code, free items) is paid as it is placed: not left
    awaiting a payment, nor cancelled later as unpaid. Does not commit."""
    if order.total == 0:
        refresh_financial_status(session, store, order, actor)


def _find(session: Session, store_id: int, method: str, reference: str) -> Payment | None:
    return session.scalar(select(Payment).where(
        Payment.store_id == store_id, Payment.method == method, Payment.reference == reference))


def _after_settling(session: Session, store: Store, order: Order, payment: Payment,
                    actor: str) -> None:
    if payment.status == "succeeded":
        refresh_financial_status(session, store, order, actor)
        note_money_not_owed(session, store, order, payment)
    elif payment.status == "failed":
        events.record(session, store.id, events.PAYMENT_FAILED,
                      {"order_id": order.id, "payment_id": payment.id})


def _repeat(session: Session, store: Store, order: Order, existing: Payment, status: str,
            actor: str) -> Payment:
    """A reference seen before: the same payment again, or its pending state settled."""
    if existing.order_id != order.id:
        raise ReferenceInUse(f"The {existing.method} reference {existing.reference} was "
                             "already recorded for another order.")
    if existing.status == "pending" and status != "pending":
        existing.status = status
        _after_settling(session, store, order, existing, actor)
    return existing


def do_record_payment(session: Session, store: Store, order_id: int, method: str,
                      amount: Money | int, reference: str | None,
                      status: str = "succeeded", actor: str = "system") -> Payment:
    """Record money received (or expected, or refused) for an order; commits.

    Idempotent by ``(store, method, reference)``: a repeat returns the payment first recorded
    and changes nothing. Raises ``InvalidAmount``, ``CurrencyMismatch``, ``InvalidPayment``,
    ``OrderNotPayable``, ``ReferenceInUse`` or ``NotFound``, changing nothing.
    """
    with committing(session):
        reference = check_payment_details(method, reference, status)
        order = order_flow.lock_order(session, store.id, order_id)
        amount = check_amount(order, amount)
        existing = _find(session, store.id, method, reference)
        if existing is not None:
            payment = _repeat(session, store, order, existing, status, actor)
        else:
            if order.status == "draft":
                raise OrderNotPayable(f"Order #{order.number} is still a draft; "
                                      "it cannot take payments yet.")
            payment = Payment(store_id=store.id, order_id=order.id, method=method,
                              amount=amount, currency=order.currency, status=status,
                              reference=reference)
            try:
                with session.begin_nested():  # the unique key decides a race between repeats
                    session.add(payment)
            except IntegrityError:
                existing = _find(session, store.id, method, reference)
                if existing is None:
                    raise
                payment = _repeat(session, store, order, existing, status, actor)
            else:
                _after_settling(session, store, order, payment, actor)
    return payment
