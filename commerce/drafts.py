"""Draft orders: a merchant writes up an order for a customer's phone number and sends a pay link.

A draft holds prices but no stock: stock is taken when the customer completes it (opens the
link and chooses how to pay), the same way checkout takes it, atomically and all or nothing.
The ``draft_token`` in the link is random and unguessable; completing twice gives the same order.
"""
from __future__ import annotations

import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from commerce import events, inventory, order_flow, order_payments
from commerce.catalog import get_variant
from commerce.checkout import (
    PAYMENT_METHODS, check_payment_method, method_not_offered, next_order_number, tax_for,
)
from commerce.customers import get_or_create_customer
from commerce.db import committing
from commerce.errors import N_, DomainError, InvalidQuantity, NotFound, OutOfStock
from commerce.models import Location, Order, OrderLine, OrderStatusChange, Stock, StockMovement
from commerce.models import Store, Variant
from commerce.phones import to_e164


class NotADraft(DomainError):
    code = "not_a_draft"


class InvalidNote(DomainError):
    code = "invalid_note"


def _sold_out(session: Session, store_id: int, variant: Variant) -> OutOfStock:
    available = inventory.available_quantity(session, store_id, variant.id)
    return inventory.out_of_stock(variant.title, variant.id, available)


def check_draft_lines(session: Session, store: Store,
                      lines: dict[int, int]) -> list[tuple[Variant, int]]:
    """The variants and quantities of a draft, each sellable in this store and in stock now."""
    if not lines:
        raise InvalidQuantity("Add at least one item to the order.")
    chosen = []
    for variant_id, quantity in lines.items():
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise InvalidQuantity("Quantities must be whole numbers of at least 1.")
        chosen.append((get_variant(session, store.id, variant_id), quantity))
    # Told now, the merchant can fix the order before the customer is sent a link that fails.
    available = inventory.available_quantities(session, store.id, [v.id for v, _ in chosen])
    for variant, quantity in chosen:
        if quantity > available[variant.id]:
            raise _sold_out(session, store.id, variant)
    return chosen


def do_create_draft_order(session: Session, store: Store, phone: str, lines: dict[int, int],
                          actor: str = "system", note: str = "") -> Order:
    """A draft order (``{variant_id: quantity}``) for the customer with this phone; commits.

    Prices are today's, held for the customer. Raises ``InvalidPhoneNumber``,
    ``InvalidQuantity``, ``NotFound``, ``OutOfStock`` or ``InvalidNote``, creating nothing.
    """
    phone_e164 = to_e164(phone, store.country)
    note = (note or "").strip()
    if len(note) > 500:
        raise InvalidNote("Please keep the note to 500 characters.")
    chosen = check_draft_lines(session, store, lines)
    customer = get_or_create_customer(session, store, phone_e164)  # commits a new customer
    with committing(session):
        subtotal = sum(variant.price * quantity for variant, quantity in chosen)
        tax = tax_for(store, subtotal)
        order = Order(
            store_id=store.id, number=next_order_number(session, store.id),
            customer_id=customer.id, status="draft",
            payment_method="",  # the customer chooses when completing the draft
            currency=store.currency, subtotal=subtotal, discount_total=0, shipping_total=0,
            tax_total=tax, total=subtotal if store.prices_include_tax else subtotal + tax,
            note=note, draft_token=secrets.token_urlsafe(32),
            lines=[OrderLine(store_id=store.id, variant_id=variant.id, title=variant.title,
                             sku=variant.sku, unit_price=variant.price, quantity=quantity)
                   for variant, quantity in chosen])
        session.add(order)
        session.flush()
        session.add(OrderStatusChange(store_id=store.id, order_id=order.id, from_status=None,
                                      to_status="draft", actor=actor[:80],
                                      reason="draft created"))
    return order


def do_send_draft(session: Session, store: Store, order_id: int, actor: str = "system") -> Order:
    """Ask for the pay link to go to the customer: records ``order.draft_sent``; commits.

    A channel's handler sends the message. Sending again records the event again (a resend).
    """
    with committing(session):
        order = order_flow.lock_order(session, store.id, order_id)
        if order.status != "draft":
            raise NotADraft(f"Order #{order.number} is "
                            f"{order_flow.STATUS_WORDS[order.status]}; "
                            "it is no longer a draft to send.")
        events.record(session, store.id, events.DRAFT_ORDER_SENT,
                      {"order_id": order.id, "draft_token": order.draft_token,
                       "phone": order.customer.phone})
    return order


def do_cancel_draft(session: Session, store: Store, order_id: int, actor: str,
                    reason: str) -> Order:
    """Cancel the draft, only while it is still a draft: a customer completing it at this
    moment has placed an order, which must not be cancelled instead. Commits; raises
    ``NotADraft``, changing nothing."""
    with committing(session):
        order = order_flow.lock_order(session, store.id, order_id)
        if order.status != "draft":
            raise NotADraft(f"Order #{order.number} is "
                            f"{order_flow.STATUS_WORDS[order.status]}; it is no longer "
                            "a draft to change.")
        order_flow.transition(session, store, order, "cancel", actor[:80], reason)
    return order


def do_complete_draft(session: Session, store: Store, draft_token: str,
                      payment_method: str) -> Order:
    """The customer accepts the draft: its stock is taken and it becomes an order awaiting
    payment; commits and records ``order.placed``.

    Completing an already completed draft returns that order unchanged. Raises ``NotFound``
    (also for cash in a store that does not take it), ``OutOfStock`` or ``InvalidTransition``
    (a cancelled draft), changing nothing.
    """
    with committing(session):
        if payment_method not in PAYMENT_METHODS:
            raise method_not_offered(payment_method)
        order_id = session.scalar(select(Order.id).where(
            Order.store_id == store.id, Order.draft_token == (draft_token or "").strip()))
        if not draft_token or order_id is None:
            raise NotFound(N_("That payment link is not valid."))
        order = order_flow.lock_order(session, store.id, order_id)
        if order.status != "draft" and order.payment_method:  # completed before
            session.commit()  # ends the transaction that holds the lock
            return order
        order_flow.check_transition(order, "place")
        check_payment_method(session, store, payment_method)
        _take_stock(session, store, order)
        order.payment_method = payment_method
        order_flow.transition(session, store, order, "place", "customer", "draft completed")
        order_payments.settle_free_order(session, store, order, "customer")
    return order


def _take_stock(session: Session, store: Store, order: Order) -> None:
    """Take the order's units off the shelf, all or none; does not commit.

    Units come from locations in selling order (as checkout takes them); the conditional
    UPDATEs run in stock primary-key order so two completions sharing stock wait for each
    other instead of deadlocking. A plan made from a stale read can only fail, never oversell.
    """
    wants: dict[int, int] = {}
    for line in order.lines:
        if line.variant_id is None:
            raise NotFound(N_("Sorry, {name} is no longer sold."), values={"name": line.title})
        wants[line.variant_id] = wants.get(line.variant_id, 0) + line.quantity
    plan: dict[int, tuple[int, int]] = {}  # stock_id -> (variant_id, units)
    for variant_id in sorted(wants):
        remaining = wants[variant_id]
        stocks = session.scalars(
            select(Stock).join(Location, Location.id == Stock.location_id)
            .where(Stock.store_id == store.id, Stock.variant_id == variant_id,
                   Location.active.is_(True))
            .order_by(Location.position, Stock.id)
            .execution_options(populate_existing=True))
        for stock in stocks:
            take = min(remaining, stock.quantity - stock.reserved)
            if take > 0:
                plan[stock.id] = (variant_id, take)
                remaining -= take
            if remaining == 0:
                break
        if remaining:
            raise _sold_out(session, store.id, session.get(Variant, variant_id))
    on_hand_at_least: dict[int, int] = {}  # per variant: what one of its locations has left
    for stock_id in sorted(plan):
        variant_id, take = plan[stock_id]
        quantity_after = session.execute(
            update(Stock)
            .where(Stock.id == stock_id, Stock.store_id == store.id,
                   Stock.quantity - Stock.reserved >= take)
            .values(quantity=Stock.quantity - take)
            .returning(Stock.quantity)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        if quantity_after is None:  # sold meanwhile
            raise _sold_out(session, store.id, session.get(Variant, variant_id))
        session.add(StockMovement(store_id=store.id, stock_id=stock_id, delta=-take,
                                  quantity_after=quantity_after, reason="sold",
                                  actor="customer", order_id=order.id))
        on_hand_at_least[variant_id] = max(quantity_after, on_hand_at_least.get(variant_id, 0))
    session.flush()
    inventory.check_low_stock(session, store, wants, on_hand_at_least)
