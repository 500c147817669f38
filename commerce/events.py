"""Domain events through a transactional outbox.

``record`` writes the event in the caller's transaction, so it exists exactly when the change
does. ``relay_pending`` (run as a job after commit) hands each event to the handlers that were
subscribed at start-up; commerce never imports who listens.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from commerce.db import transaction_scoped, utcnow
from commerce.models import OutboxEvent

log = logging.getLogger(__name__)

# Session.info key: this transaction recorded events (the after-commit hook kicks the relay)
RECORDED = transaction_scoped("duka.outbox_dirty")

# The events others may subscribe to (payload keys in brackets).
ORDER_PLACED = "order.placed"  # order_id, number
ORDER_PAID = "order.paid"  # order_id, number
ORDER_FULFILLED = "order.fulfilled"  # order_id, number, fulfilment_id
ORDER_CANCELLED = "order.cancelled"  # order_id, number
DRAFT_ORDER_SENT = "order.draft_sent"  # order_id, draft_token, phone
ORDER_PROCESSING = "order.processing"  # order_id, number
ORDER_SHIPPED = "order.shipped"  # order_id, number
ORDER_READY_FOR_PICKUP = "order.ready_for_pickup"  # order_id, number
ORDER_DELIVERED = "order.delivered"  # order_id, number
ORDER_COMPLETED = "order.completed"  # order_id, number
ORDER_RETURNED = "order.returned"  # order_id, number
ORDER_REFUNDED = "order.refunded"  # order_id, number, refund_id, amount
# money received that the order does not owe: a second payment, or one after it was cancelled
ORDER_OVERPAID = "order.overpaid"  # order_id, number, payment_id, amount (minor units over)
PAYMENT_REQUESTED = "payment.requested"  # order_id, payment_id, method
PAYMENT_ACTION_REQUIRED = "payment.action_required"  # order_id, payment_id, url
PAYMENT_COMPLETED = "payment.completed"  # order_id, payment_id, method, amount
PAYMENT_FAILED = "payment.failed"  # order_id, payment_id (and status, reason from providers)
INVENTORY_LOW_STOCK = "inventory.low_stock"  # variant_id, sku, on_hand, threshold
CART_ABANDONED = "cart.abandoned"  # cart_id, customer_id
CUSTOMER_REGISTERED = "customer.registered"  # customer_id, phone

Handler = Callable[[OutboxEvent], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(name: str, handler: Handler) -> None:
    if handler not in _handlers[name]:
        _handlers[name].append(handler)


def record(session: Session, store_id: int | None, name: str, payload: dict) -> None:
    session.add(OutboxEvent(store_id=store_id, name=name, payload=payload))
    session.info[RECORDED] = True


def relay_pending(session: Session, batch: int = 100) -> int:
    """Hand pending events to their handlers; returns how many were relayed."""
    stmt = (
        select(OutboxEvent)
        .where(OutboxEvent.relayed_at.is_(None))
        .order_by(OutboxEvent.id)
        .limit(batch)
        .with_for_update(skip_locked=True)  # concurrent relays share the work (PostgreSQL)
    )
    relayed = 0
    for event in session.scalars(stmt):
        for handler in _handlers.get(event.name, ()):
            handler(event)
        event.relayed_at = utcnow()
        relayed += 1
    session.commit()
    if relayed:
        log.info("relayed %d event(s)", relayed)
    return relayed
