"""Cash on delivery (or at pickup): no provider to ask; the merchant records the cash when the
rider or the shop counter takes it. Recording it twice counts it once."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from commerce.models import Order, Payment, Store
from commerce.order_payments import do_record_payment, paid_total
from payments.service import OrderNotPayable


def do_mark_cash_received(session: Session, store: Store, order_id: int,
                          actor: str = "merchant") -> Payment:
    """Record what a cash-on-delivery order still owes as paid in cash; commits.

    Idempotent: the receipt is ``cash-<order number>``, so a second tap returns the payment
    already recorded. Raises ``OrderNotPayable`` for an order that is not cash on delivery or
    was paid otherwise, ``NotFound`` for another store's order.
    """
    order = session.scalar(select(Order).where(Order.id == order_id,
                                               Order.store_id == store.id))
    reference = f"cash-{order.number}" if order else ""
    if order is not None:
        recorded = session.scalar(select(Payment).where(
            Payment.store_id == store.id, Payment.method == "cod",
            Payment.reference == reference))
        if recorded is not None:
            return recorded
        if order.payment_method != "cod":
            raise OrderNotPayable(f"Order #{order.number} is paid by {order.payment_method}, "
                                  "not cash.")
        owed = order.total - paid_total(session, store.id, order.id)
        if owed <= 0:
            raise OrderNotPayable(f"Order #{order.number} is already paid.")
    else:
        owed = 1  # do_record_payment raises NotFound for an order that is not this store's
    return do_record_payment(session, store, order_id, "cod", owed, reference or "cash",
                             actor=actor)
