"""Draft orders over the API: a merchant writes up an order for a customer's phone number, sends
it (the customer gets a message with a way to pay), and may change or discard it until then.

A draft is an order row with status ``draft`` and a pay-link token; the customer completing it
makes it an ordinary order (same id), which ``/orders`` then lists. ``commerce.drafts`` does the
work; the message itself is sent by the channels' handler of ``order.draft_sent``.
"""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import and_, select

from admin.api.order_answers import (
    OrderCustomerOut, OrderLineOut, OrderTotalsOut, Status, customer_out, line_out, totals_out,
)
from admin.api.orders import MAX_UNITS, check_lines_once
from admin.api.pages import NO_NUL, Body, Id, Page, PageQuery, paginate
from admin.api.routing import endpoint
from commerce import drafts, order_flow
from commerce.errors import NotFound
from commerce.models import Order

DraftState = Literal["open", "completed", "cancelled"]
STATE_WHERE = {  # what each state is in the order row
    "open": Order.status == "draft",
    "completed": Order.payment_method != "",
    "cancelled": and_(Order.status == "cancelled", Order.payment_method == ""),
}


# -- answers and requests -----------------------------------------------------------------------
class DraftOrderOut(BaseModel):
    id: int
    number: int
    state: DraftState = Field(description="open: not completed yet; completed: the customer "
                                          "placed it (see /orders/{id}); cancelled.")
    status: Status = Field(description="The order status (draft while open).")
    currency: str
    customer: OrderCustomerOut
    lines: list[OrderLineOut]
    totals: OrderTotalsOut = Field(description="Minor units, at the prices held for the "
                                               "customer.")
    note: str
    created_at: datetime
    updated_at: datetime


class DraftOrderPage(Page[DraftOrderOut]):
    pass


class DraftQuery(PageQuery):
    state: DraftState | None = None


class DraftLine(Body):
    variant_id: Id
    quantity: int = Field(ge=1, le=MAX_UNITS)


class DraftLines(Body):
    lines: list[DraftLine] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _once(self):
        check_lines_once(self.lines, "variant_id")
        return self


class NewDraftOrder(DraftLines):
    phone: str = Field(min_length=3, max_length=20, pattern=NO_NUL,
                       description="The customer's phone number.")
    note: str = Field("", max_length=500, pattern=NO_NUL)


# -- shaping and finding ------------------------------------------------------------------------
def _state(order: Order) -> str:
    if order.status == "draft":
        return "open"
    return "completed" if order.payment_method else "cancelled"


def draft_out(order: Order) -> dict:
    return DraftOrderOut(
        id=order.id, number=order.number, state=_state(order), status=order.status,
        currency=order.currency, customer=customer_out(order.customer),
        lines=[line_out(line) for line in order.lines], totals=totals_out(order),
        note=order.note, created_at=order.created_at,
        updated_at=order.updated_at).model_dump(mode="json")


def _drafts(call):
    return select(Order).where(Order.store_id == call.store_id, Order.draft_token.is_not(None))


def _draft(call, draft_id: int) -> Order:
    order = call.db.scalar(_drafts(call).where(Order.id == draft_id))
    if order is None:
        raise NotFound("No such draft order.")
    return order


def _cancel_open_draft(call, draft_id: int, reason: str) -> None:
    drafts.do_cancel_draft(call.db, call.store, draft_id, call.principal.name, reason)


def _lines(body: DraftLines) -> dict[int, int]:
    return {line.variant_id: line.quantity for line in body.lines}


# -- endpoints ----------------------------------------------------------------------------------
@endpoint("GET", "/draft-orders", "orders:read", summary="List draft orders, newest first",
          tag="draft-orders", query=DraftQuery, response=DraftOrderPage)
def list_drafts(call):
    statement = _drafts(call)
    if call.query.state is not None:
        statement = statement.where(STATE_WHERE[call.query.state])
    return paginate(call.db, statement, Order.id, call.query, draft_out)


@endpoint("POST", "/draft-orders", "orders:write",
          summary="Write up an order for a customer's phone number (prices held, no stock "
                  "taken)", tag="draft-orders", body=NewDraftOrder, response=DraftOrderOut,
          status=201)
def create_draft(call):
    body = call.body
    order = drafts.do_create_draft_order(call.db, call.store, body.phone, _lines(body),
                                         actor=call.principal.name, note=body.note)
    return draft_out(order)


@endpoint("GET", "/draft-orders/<int:draft_id>", "orders:read", summary="One draft order",
          tag="draft-orders", response=DraftOrderOut)
def get_draft(call, draft_id: int):
    return draft_out(_draft(call, draft_id))


@endpoint("PUT", "/draft-orders/<int:draft_id>/lines", "orders:write",
          summary="Change an open draft's lines. The answer is the draft to use from now on: "
                  "for now a new draft (new id and number) replaces the old, which is "
                  "cancelled; send the new one.", tag="draft-orders", body=DraftLines,
          response=DraftOrderOut)
def replace_draft_lines(call, draft_id: int):
    # Stopgap until commerce.drafts can change a draft in place (do_update_draft_lines): the
    # new draft is made first (its checks refuse bad lines with nothing changed), then the old
    # one cancelled only if it is still a draft; if it is not, the new one goes instead.
    old = _draft(call, draft_id)
    if old.status != "draft":
        raise drafts.NotADraft(f"Order #{old.number} is {order_flow.STATUS_WORDS[old.status]}; "
                               "it is no longer a draft to change.")
    new = drafts.do_create_draft_order(call.db, call.store, old.customer.phone,
                                       _lines(call.body), actor=call.principal.name,
                                       note=old.note)
    try:
        _cancel_open_draft(call, old.id, f"replaced by draft #{new.number}")
    except drafts.NotADraft:
        _cancel_open_draft(call, new.id, f"draft #{old.number} was completed meanwhile")
        raise
    return draft_out(_draft(call, new.id))


@endpoint("POST", "/draft-orders/<int:draft_id>/send", "orders:write",
          summary="Send the draft to the customer (SMS or WhatsApp, with a way to pay); again "
                  "to resend", tag="draft-orders", response=DraftOrderOut, status=202)
def send_draft(call, draft_id: int):
    _draft(call, draft_id)  # an order that never was a draft is not found here
    return draft_out(drafts.do_send_draft(call.db, call.store, draft_id,
                                          actor=call.principal.name))


@endpoint("DELETE", "/draft-orders/<int:draft_id>", "orders:write",
          summary="Discard an open draft (it is kept, cancelled)", tag="draft-orders",
          response=None, status=204)
def discard_draft(call, draft_id: int):
    _draft(call, draft_id)
    _cancel_open_draft(call, draft_id, "discarded")
    return None
