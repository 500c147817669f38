"""Orders over the API: the list and its filters, one order in full, its status history, and
what a merchant does to an order: send items out, mark them delivered or collected, prepare,
complete or cancel it.

Every change is one ``commerce`` ``do_*`` call (it checks, then commits); this module reads the
request, calls the core and shapes the answer with ``order_answers``. Refunds live with the
money, in ``payments_api``; drafts (orders not yet placed) in ``drafts``.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, model_validator
from sqlalchemy import false, or_, select

from admin.api.order_answers import (
    FulfilmentOut, OrderHistoryOut, OrderOut, OrderPage, StatusChangeOut, current_order,
    fulfilment_out, order_out, summary_out,
)
from admin.api.pages import NO_NUL, Body, Id, PageQuery, paginate
from admin.api.routing import endpoint
from commerce import fulfilments, order_flow, orders
from commerce.errors import InvalidPhoneNumber
from commerce.models import Customer, Order
from commerce.phones import to_e164

MAX_UNITS = 1_000_000  # far above any order, far below a 32-bit column
# A draft never placed is not an order yet: ``/draft-orders`` lists those.
ListedStatus = Literal[tuple(s for s in order_flow.STATES if s != "draft")]
Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2999, 12, 31),
                            description="A day in the store's time zone (YYYY-MM-DD).")]
Reason = Annotated[str, Field(max_length=300, pattern=NO_NUL,
                              description="Why, in plain words; kept with the change.")]


# -- requests -----------------------------------------------------------------------------------
class OrderQuery(PageQuery):
    status: ListedStatus | None = None
    financial_status: Literal["pending", "paid", "partially_refunded", "refunded"] | None = None
    fulfilment_status: Literal["unfulfilled", "partially_fulfilled", "fulfilled"] | None = None
    phone: str | None = Field(None, max_length=20, pattern=NO_NUL,
                              description="The customer's phone number.")
    created_from: Day | None = Field(None, description="Placed on or after this day.")
    created_to: Day | None = Field(None, description="Placed on or before this day.")
    q: str | None = Field(None, max_length=30, pattern=NO_NUL,
                          description="An order number (1042 or #1042) or a phone number, "
                                      "whole or its last 6 or more digits.")


class LineQuantity(Body):
    line_id: Id = Field(description="The id of one of the order's lines.")
    quantity: int = Field(ge=1, le=MAX_UNITS)


def check_lines_once(lines: list | None, key: str) -> None:
    """A line named twice is a client's slip; refused before the core adds it up wrong."""
    if lines is not None and len({getattr(line, key) for line in lines}) != len(lines):
        raise ValueError(f"name each {key} once")


class NewFulfilment(Body):
    lines: list[LineQuantity] | None = Field(
        None, min_length=1, max_length=100,
        description="Units to send now; absent or null: every unit not sent yet.")
    carrier: str = Field("", max_length=80, pattern=NO_NUL,
                         description='"Own rider", "G4S", ...')
    tracking_number: str | None = Field(None, max_length=80, pattern=NO_NUL,
                                        description="Unique in the store when given.")

    @model_validator(mode="after")
    def _once(self):
        check_lines_once(self.lines, "line_id")
        return self


class Delivered(Body):
    fulfilment_id: Id | None = Field(None, description="One shipment; absent or null: all.")


class OrderMove(Body):
    reason: Reason = ""


# -- filters ------------------------------------------------------------------------------------
def _day_start(call, day: date) -> datetime:
    """Midnight of ``day`` in the store's time zone, in UTC as the database keeps time."""
    return datetime.combine(day, time.min, ZoneInfo(call.store.timezone)).astimezone(
        timezone.utc)


def _matching(q: str, country: str):
    """An order number or a phone number: whichever the text can be."""
    text = q.strip().lstrip("#").strip()
    found = []
    if text.isascii() and text.isdecimal():
        if len(text) <= 9:
            found.append(Order.number == int(text))
        if len(text) >= 6:
            found.append(Customer.phone.contains(text))
    try:
        found.append(Customer.phone == to_e164(text, country))
    except InvalidPhoneNumber:
        pass
    return or_(*found) if found else false()


def _filtered(call):
    query, store = call.query, call.store
    statement = (select(Order).join(Customer, Customer.id == Order.customer_id)
                 .where(Order.store_id == call.store_id,
                        or_(Order.draft_token.is_(None), Order.payment_method != "")))
    for column, wanted in ((Order.status, query.status),
                           (Order.financial_status, query.financial_status),
                           (Order.fulfilment_status, query.fulfilment_status)):
        if wanted is not None:
            statement = statement.where(column == wanted)
    if query.phone is not None:  # a number we cannot read is a 422, not an empty list
        statement = statement.where(Customer.phone == to_e164(query.phone, store.country))
    if query.created_from is not None:
        statement = statement.where(Order.created_at >= _day_start(call, query.created_from))
    if query.created_to is not None:
        statement = statement.where(
            Order.created_at < _day_start(call, query.created_to + timedelta(days=1)))
    if query.q:
        statement = statement.where(_matching(query.q, store.country))
    return statement


# -- endpoints ----------------------------------------------------------------------------------
@endpoint("GET", "/orders", "orders:read", summary="List orders, newest first", tag="orders",
          query=OrderQuery, response=OrderPage)
def list_orders(call):
    return paginate(call.db, _filtered(call), Order.id, call.query, summary_out)


@endpoint("GET", "/orders/<int:order_id>", "orders:read", summary="One order in full",
          tag="orders", response=OrderOut)
def get_order(call, order_id: int):
    return order_out(call, orders.get_order(call.db, call.store_id, order_id))


@endpoint("GET", "/orders/<int:order_id>/history", "orders:read",
          summary="Every status the order has had", tag="orders", response=OrderHistoryOut)
def order_history(call, order_id: int):
    changes = order_flow.order_history(call.db, call.store_id, order_id)
    return OrderHistoryOut(items=[StatusChangeOut.model_validate(c, from_attributes=True)
                                  for c in changes]).model_dump(mode="json")


@endpoint("POST", "/orders/<int:order_id>/fulfilments", "orders:write",
          summary="Send items out (all of a pickup order: ready for pickup)", tag="orders",
          body=NewFulfilment, response=FulfilmentOut, status=201)
def fulfil_order(call, order_id: int):
    body = call.body
    lines = None if body.lines is None else {ln.line_id: ln.quantity for ln in body.lines}
    shipment = fulfilments.do_fulfil(call.db, call.store, order_id, lines, body.carrier,
                                     body.tracking_number, actor=call.principal.name)
    return fulfilment_out(shipment)


@endpoint("POST", "/orders/<int:order_id>/deliver", "orders:write",
          summary="Mark shipments delivered (or a pickup order collected)", tag="orders",
          body=Delivered, response=OrderOut)
def deliver_order(call, order_id: int):
    fulfilments.do_mark_delivered(call.db, call.store, order_id, call.body.fulfilment_id,
                                  actor=call.principal.name)
    return current_order(call, order_id)


def _move(call, order_id: int, trigger: str) -> dict:
    order_flow.do_transition_order(call.db, call.store, order_id, trigger,
                                   call.principal.name, call.body.reason)
    return current_order(call, order_id)


@endpoint("POST", "/orders/<int:order_id>/cancel", "orders:write",
          summary="Cancel an order (units not sent go back on the shelf)", tag="orders",
          body=OrderMove, response=OrderOut)
def cancel_order(call, order_id: int):
    return _move(call, order_id, "cancel")


@endpoint("POST", "/orders/<int:order_id>/process", "orders:write",
          summary="Start preparing an order (paid, or cash on delivery)", tag="orders",
          body=OrderMove, response=OrderOut)
def process_order(call, order_id: int):
    return _move(call, order_id, "process")


@endpoint("POST", "/orders/<int:order_id>/complete", "orders:write",
          summary="Close a delivered, paid order", tag="orders", body=OrderMove,
          response=OrderOut)
def complete_order(call, order_id: int):
    return _move(call, order_id, "complete")
