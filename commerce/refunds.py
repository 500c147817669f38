"""Refunds: money given back, with or without the goods coming back.

A refund's amount is at most what was paid less what was already refunded. Units can be
returned only if they were sent: ``quantity_returned <= quantity_fulfilled`` on every line.
Units never sent are not "returned"; they go back on the shelf when the order is cancelled
(``order_flow``). A refund that brings back the last unit of a delivered or completed order
moves it to ``returned``.
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from commerce import events, inventory, order_flow
from commerce.db import committing
from commerce.errors import DomainError, InvalidQuantity, NotFound
from commerce.models import Order, Payment, Refund, RefundLine, Store
from commerce.order_payments import (
    check_amount, paid_total, refresh_financial_status, refunded_total,
)



class RefundExceedsPayment(DomainError):
    code = "refund_exceeds_payment"


class ReturnExceedsSent(DomainError):
    code = "return_exceeds_sent"


def returnable(line) -> int:
    return line.quantity_fulfilled - line.quantity_returned


def check_refund_amount(session: Session, store: Store, order: Order, amount) -> int:
    amount = check_amount(order, amount)
    left = (paid_total(session, store.id, order.id)
            - refunded_total(session, store.id, order.id))
    if amount > left:
        shown = store.money(max(left, 0)).format(store.default_locale)
        raise RefundExceedsPayment(
            f"Only {shown} of order #{order.number} can still be refunded.", refundable=left)
    return amount


def check_returned_lines(order: Order, lines: dict[int, int] | None) -> dict[int, int]:
    """``{order_line_id: units coming back}``; ``None`` or ``{}`` is a refund of money alone."""
    if not lines:
        return {}
    by_id = {line.id: line for line in order.lines}
    for line_id, quantity in lines.items():
        if line_id not in by_id:
            raise NotFound(f"Order #{order.number} has no such item.")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise InvalidQuantity("Quantities must be whole numbers of at least 1.")
        if quantity > returnable(by_id[line_id]):
            raise ReturnExceedsSent(
                f"Only {returnable(by_id[line_id])} {by_id[line_id].title} of order "
                f"#{order.number} were sent and not yet returned.")
    return dict(lines)


def do_refund(session: Session, store: Store, order_id: int, amount, lines=None,
              restock: bool = False, reason: str = "", actor: str = "system",
              payment_id: int | None = None, status: str = "succeeded") -> Refund:
    """Give money back, and take units back if ``lines`` says so; commits.

    ``amount`` is minor units (an int, or ``Money`` in the order's currency); ``lines`` is
    ``{order_line_id: quantity}``. With ``restock`` the returned units go back on the shelf at
    the store's default location. Records ``order.refunded``. Raises ``RefundExceedsPayment``,
    ``ReturnExceedsSent``, ``InvalidAmount``, ``CurrencyMismatch``, ``InvalidQuantity`` or
    ``NotFound``, changing nothing.

    ``payment_id`` ties the refund to the payment a provider will pay it back from (at most
    what that payment brought in); ``status="pending"`` records it until the provider confirms
    (``do_settle_refund``), and ``order.refunded`` waits for that.
    """
    with committing(session):
        reason = order_flow.check_reason(reason)
        order = order_flow.lock_order(session, store.id, order_id)
        amount = check_refund_amount(session, store, order, amount)
        if payment_id is not None:
            check_payment_refundable(session, store, order, payment_id, amount)
        returned = check_returned_lines(order, lines)
        if restock and not returned:
            raise InvalidQuantity("Choose the items to put back on the shelf.")
        refund = Refund(store_id=store.id, order_id=order.id, amount=amount, reason=reason,
                        restock=restock, actor=actor[:80], payment_id=payment_id,
                        status=status,
                        lines=[RefundLine(store_id=store.id, order_line_id=line_id,
                                          quantity=quantity)
                               for line_id, quantity in sorted(returned.items())])
        session.add(refund)
        session.flush()  # its id goes in the event
        by_id = {line.id: line for line in order.lines}
        for line_id, quantity in returned.items():
            by_id[line_id].quantity_returned += quantity
        if restock:
            _put_back(session, store, order, returned, actor)
        refresh_financial_status(session, store, order, actor)
        everything_back = all(line.quantity_returned == line.quantity for line in order.lines)
        if returned and everything_back and order_flow.can(order, "return"):
            order_flow.transition(session, store, order, "return", actor,
                                  reason or "all items returned")
        if status == "succeeded":
            _record_refunded(session, store, order, refund)
    return refund


def _record_refunded(session: Session, store: Store, order: Order, refund: Refund) -> None:
    events.record(session, store.id, events.ORDER_REFUNDED,
                  {"order_id": order.id, "number": order.number, "refund_id": refund.id,
                   "amount": refund.amount})


def check_payment_refundable(session: Session, store: Store, order: Order, payment_id: int,
                             amount: int) -> Payment:
    payment = session.get(Payment, payment_id)
    if payment is None or payment.store_id != store.id or payment.order_id != order.id:
        raise NotFound(f"Order #{order.number} has no such payment.")
    if payment.status != "succeeded":
        raise RefundExceedsPayment("Only a payment that went through can be refunded.",
                                   refundable=0)
    already = int(session.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0))
        .where(Refund.store_id == store.id, Refund.payment_id == payment.id,
               Refund.status != "failed")))
    if amount > payment.amount - already:
        left = max(payment.amount - already, 0)
        raise RefundExceedsPayment(
            f"Only {store.money(left).format(store.default_locale)} of that payment can still "
            "be refunded.", refundable=left)
    return payment


def do_settle_refund(session: Session, store: Store, refund_id: int, status: str,
                     provider_reference: str | None = None, actor: str = "system") -> Refund:
    """The provider's word on a pending refund: ``succeeded`` or ``failed``; commits.
    A settled refund does not change again."""
    with committing(session):
        refund = session.get(Refund, refund_id)
        if refund is None or refund.store_id != store.id:
            raise NotFound("No such refund.")
        order = order_flow.lock_order(session, store.id, refund.order_id)
        session.refresh(refund)
        if refund.status != "pending" or status not in ("succeeded", "failed"):
            return refund
        refund.status = status
        refund.provider_reference = provider_reference or refund.provider_reference
        refresh_financial_status(session, store, order, actor)
        if status == "succeeded":
            _record_refunded(session, store, order, refund)
    return refund


def _put_back(session: Session, store: Store, order: Order, returned: dict[int, int],
              actor: str) -> None:
    location = inventory.default_location(session, store.id)
    by_id = {line.id: line for line in order.lines}
    for line_id in sorted(returned, key=lambda i: by_id[i].variant_id or 0):
        line = by_id[line_id]
        if line.variant_id is not None:
            inventory.adjust_stock(session, store, line.variant_id, location.id,
                                   returned[line_id], reason="returned", actor=actor,
                                   note=f"returned from order #{order.number}",
                                   order_id=order.id)
