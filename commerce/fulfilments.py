"""Fulfilments: units leaving the shop, by rider or courier or over the counter, and arriving.

``fulfilment_status`` is derived from the lines: nothing sent is ``unfulfilled``, some is
``partially_fulfilled``, every unit is ``fulfilled``. A unit is sent at most once, so what is left
to send on a line is ``quantity - quantity_fulfilled`` (returns are always of units that were
sent; see ``refunds``).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from commerce import events, order_flow
from commerce.db import committing
from commerce.errors import DomainError, InvalidQuantity, NotFound
from commerce.models import Fulfilment, FulfilmentLine, Order, OrderLine, Store


class CannotFulfil(DomainError):
    code = "cannot_fulfil"


class FulfilExceedsRemaining(DomainError):
    code = "fulfil_exceeds_remaining"


class TrackingNumberInUse(DomainError):
    code = "tracking_number_in_use"


class InvalidTracking(DomainError):
    code = "invalid_tracking"


class NothingToDeliver(DomainError):
    code = "nothing_to_deliver"


FULFILLABLE = ("paid", "processing")  # cash-on-delivery orders are ``processing`` unpaid


def unfulfilled(line: OrderLine) -> int:
    return line.quantity - line.quantity_fulfilled


def fulfilment_status_for(order: Order) -> str:
    sent = sum(line.quantity_fulfilled for line in order.lines)
    if sent == 0:
        return "unfulfilled"
    if all(line.quantity_fulfilled == line.quantity for line in order.lines):
        return "fulfilled"
    return "partially_fulfilled"


def check_fulfilment_lines(order: Order, lines: dict[int, int] | None) -> dict[int, int]:
    """``{order_line_id: units}`` to send now; ``None`` means everything not yet sent."""
    by_id = {line.id: line for line in order.lines}
    if lines is None:
        wanted = {line.id: unfulfilled(line) for line in order.lines if unfulfilled(line) > 0}
        if not wanted:
            raise CannotFulfil(f"Everything on order #{order.number} has already been sent.")
        return wanted
    if not lines:
        raise InvalidQuantity("Choose at least one item to send.")
    for line_id, quantity in lines.items():
        if line_id not in by_id:
            raise NotFound(f"Order #{order.number} has no such item.")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise InvalidQuantity("Quantities must be whole numbers of at least 1.")
        left = unfulfilled(by_id[line_id])
        if quantity > left:
            raise FulfilExceedsRemaining(
                f"Only {left} {by_id[line_id].title} left to send on order #{order.number}.")
    return dict(lines)


def check_tracking(session: Session, store_id: int, carrier: str,
                   tracking_number: str | None) -> tuple[str, str | None]:
    carrier = (carrier or "").strip()
    tracking_number = (tracking_number or "").strip() or None
    if len(carrier) > 80 or (tracking_number and len(tracking_number) > 80):
        raise InvalidTracking("Carrier and tracking number are 80 characters at most.")
    # ``shipping.track`` finds a shipment by its number, so a number names one shipment.
    if tracking_number and session.scalar(select(Fulfilment.id).where(
            Fulfilment.store_id == store_id, Fulfilment.tracking_number == tracking_number)):
        raise TrackingNumberInUse(f"Tracking number {tracking_number} is already used.")
    return carrier, tracking_number


def do_fulfil(session: Session, store: Store, order_id: int,
              lines: dict[int, int] | None = None, carrier: str = "",
              tracking_number: str | None = None, actor: str = "system") -> Fulfilment:
    """Send some (or all remaining) units of an order; commits and records ``order.fulfilled``.

    Once every unit is sent the order moves to ``shipped`` (or ``ready_for_pickup``); a first
    partial shipment of a paid order moves it to ``processing``.
    """
    with committing(session):
        order = order_flow.lock_order(session, store.id, order_id)
        if order.status not in FULFILLABLE:
            raise CannotFulfil(f"Order #{order.number} is "
                               f"{order_flow.STATUS_WORDS[order.status]}; "
                               "it cannot be sent out now.")
        wanted = check_fulfilment_lines(order, lines)
        carrier, tracking_number = check_tracking(session, store.id, carrier, tracking_number)
        by_id = {line.id: line for line in order.lines}
        fulfilment = Fulfilment(
            store_id=store.id, order_id=order.id, carrier=carrier,
            tracking_number=tracking_number, status="shipped",
            lines=[FulfilmentLine(store_id=store.id, order_line_id=line_id, quantity=quantity)
                   for line_id, quantity in sorted(wanted.items())])
        session.add(fulfilment)
        for line_id, quantity in wanted.items():
            by_id[line_id].quantity_fulfilled += quantity
        order.fulfilment_status = fulfilment_status_for(order)
        try:
            session.flush()
        except IntegrityError:  # a concurrent shipment took the number: the unique key says so
            raise TrackingNumberInUse(f"Tracking number {tracking_number} is already used.") \
                from None
        if order.fulfilment_status == "fulfilled":
            trigger = "ready" if order.delivery_method == "pickup" else "ship"
            order_flow.transition(session, store, order, trigger, actor, "all items sent")
        elif order.status == "paid":
            order_flow.transition(session, store, order, "process", actor, "first items sent")
        events.record(session, store.id, events.ORDER_FULFILLED,
                      {"order_id": order.id, "number": order.number,
                       "fulfilment_id": fulfilment.id})
    return fulfilment


def do_mark_delivered(session: Session, store: Store, order_id: int,
                      fulfilment_id: int | None = None, actor: str = "system") -> Order:
    """A shipment arrived (or was collected); ``None`` means every shipment of the order. Commits.

    When everything has been sent and has arrived, the order moves to ``delivered``. Marking a
    delivered shipment again changes nothing.
    """
    with committing(session):
        order = order_flow.lock_order(session, store.id, order_id)
        query = select(Fulfilment).where(Fulfilment.store_id == store.id,
                                         Fulfilment.order_id == order.id)
        if fulfilment_id is not None:
            query = query.where(Fulfilment.id == fulfilment_id)
        shipments = list(session.scalars(query.order_by(Fulfilment.id)))
        if fulfilment_id is not None and not shipments:
            raise NotFound(f"Order #{order.number} has no such shipment.")
        if not shipments:
            raise NothingToDeliver(f"Nothing on order #{order.number} has been sent yet.")
        for shipment in shipments:
            shipment.status = "delivered"
        all_arrived = all(s.status == "delivered" for s in session.scalars(
            select(Fulfilment).where(Fulfilment.store_id == store.id,
                                     Fulfilment.order_id == order.id)))
        if (all_arrived and order.fulfilment_status == "fulfilled"
                and order_flow.can(order, "deliver")):
            order_flow.transition(session, store, order, "deliver", actor,
                                  "collected" if order.delivery_method == "pickup"
                                  else "delivered")
    return order
