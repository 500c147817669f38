"""Orders over the API: the list and its filters, one order in full (lines, totals, customer,
delivery or pickup, payments, shipments, refunds), its status history, and what a merchant does
to an order: send items out, mark them delivered or collected, prepare, complete or cancel it.

Every change is one ``commerce`` ``do_*`` call (it checks, then commits); this module reads the
request, calls the core and shapes the answer. Refunds live with the money, in ``payments_api``;
drafts (orders not yet placed) in ``drafts``.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import false, or_, select

from admin.api.pages import NO_NUL, Body, Id, Page, PageQuery, paginate
from admin.api.routing import endpoint
from commerce import fulfilments, order_flow, order_payments, orders
from commerce.errors import InvalidPhoneNumber
from commerce.models import Customer, Fulfilment, Order, PickupPoint, Refund, ShippingZone
from commerce.phones import to_e164

MAX_UNITS = 1_000_000  # far above any order, far below a 32-bit column
Status = Literal[tuple(order_flow.STATES)]
# A draft never placed is not an order yet: ``/draft-orders`` lists those.
ListedStatus = Literal[tuple(s for s in order_flow.STATES if s != "draft")]
Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2999, 12, 31),
                            description="A day in the store's time zone (YYYY-MM-DD).")]
Reason = Annotated[str, Field(max_length=300, pattern=NO_NUL,
                              description="Why, in plain words; kept with the change.")]


# -- answers ------------------------------------------------------------------------------------
class OrderCustomerOut(BaseModel):
    id: int
    phone: str = Field(description="E.164.")
    name: str


class OrderLineOut(BaseModel):
    id: int
    variant_id: int | None = Field(description="null: the variant was deleted since.")
    title: str
    sku: str
    unit_price: int = Field(description="Minor units, as bought.")
    quantity: int
    quantity_fulfilled: int
    quantity_returned: int
    total: int = Field(description="unit_price x quantity, minor units.")


class OrderTotalsOut(BaseModel):
    subtotal: int
    discount: int
    shipping: int
    tax: int = Field(description="Included in total either way.")
    total: int


class PickupPointOut(BaseModel):
    id: int
    name: str
    address: str


class OrderDeliveryOut(BaseModel):
    method: Literal["delivery", "pickup"] | None = Field(
        description="null: the merchant arranges it.")
    zone_id: int | None
    zone_name: str | None
    address: str
    landmark: str
    pickup_point: PickupPointOut | None


class OrderPaymentOut(BaseModel):
    id: int
    method: str
    amount: int
    status: str = Field(description="created, pending, succeeded, failed, cancelled, expired.")
    reference: str | None = Field(description="The receipt a person reads (an M-Pesa code).")
    created_at: datetime


class OrderPaymentsOut(BaseModel):
    paid: int = Field(description="Minor units received: succeeded payments.")
    refunded: int = Field(description="Minor units given back or on their way back.")
    items: list[OrderPaymentOut]


class FulfilmentLineOut(BaseModel):
    order_line_id: int
    quantity: int


class FulfilmentOut(BaseModel):
    id: int
    order_id: int
    status: Literal["shipped", "delivered"]
    carrier: str
    tracking_number: str | None
    lines: list[FulfilmentLineOut]
    created_at: datetime


class RefundLineOut(BaseModel):
    order_line_id: int
    quantity: int


class RefundOut(BaseModel):
    id: int
    order_id: int
    payment_id: int | None = Field(description="The payment the provider pays it back from; "
                                               "null: given back by hand.")
    amount: int
    currency: str
    status: Literal["pending", "succeeded", "failed"] = Field(
        description="pending: the provider has not confirmed yet; failed counts for nothing.")
    provider_reference: str | None
    reason: str
    restock: bool
    actor: str
    lines: list[RefundLineOut] = Field(description="Units that came back.")
    created_at: datetime


class OrderSummaryOut(BaseModel):
    id: int
    number: int
    status: Status
    financial_status: str = Field(description="pending, paid, partially_refunded, refunded.")
    fulfilment_status: str = Field(description="unfulfilled, partially_fulfilled, fulfilled.")
    payment_method: str
    currency: str
    total: int
    item_count: int
    customer: OrderCustomerOut
    delivery_method: Literal["delivery", "pickup"] | None
    created_at: datetime


class OrderPage(Page[OrderSummaryOut]):
    pass


class OrderOut(BaseModel):
    id: int
    number: int
    status: Status
    financial_status: str = Field(description="pending, paid, partially_refunded, refunded.")
    fulfilment_status: str = Field(description="unfulfilled, partially_fulfilled, fulfilled.")
    payment_method: str = Field(description='"" for a draft not completed yet.')
    currency: str
    totals: OrderTotalsOut = Field(description="Minor units of currency.")
    discount_code: str | None
    note: str
    customer: OrderCustomerOut
    delivery: OrderDeliveryOut
    lines: list[OrderLineOut]
    payments: OrderPaymentsOut
    fulfilments: list[FulfilmentOut]
    refunds: list[RefundOut]
    created_at: datetime
    updated_at: datetime


class StatusChangeOut(BaseModel):
    id: int
    from_status: str | None = Field(description="null: the order's first status.")
    to_status: str
    actor: str = Field(description='Who: "customer", "staff:<id>", "key:<id>", a job...')
    reason: str
    created_at: datetime


class OrderHistoryOut(BaseModel):
    items: list[StatusChangeOut] = Field(description="Oldest first.")


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


# -- shaping ------------------------------------------------------------------------------------
def customer_out(customer: Customer) -> dict:
    return {"id": customer.id, "phone": customer.phone, "name": customer.name}


def line_out(line) -> dict:
    return {"id": line.id, "variant_id": line.variant_id, "title": line.title, "sku": line.sku,
            "unit_price": line.unit_price, "quantity": line.quantity,
            "quantity_fulfilled": line.quantity_fulfilled,
            "quantity_returned": line.quantity_returned,
            "total": line.unit_price * line.quantity}


def totals_out(order: Order) -> dict:
    return {"subtotal": order.subtotal, "discount": order.discount_total,
            "shipping": order.shipping_total, "tax": order.tax_total, "total": order.total}


def fulfilment_out(shipment: Fulfilment) -> dict:
    return FulfilmentOut(
        id=shipment.id, order_id=shipment.order_id, status=shipment.status,
        carrier=shipment.carrier, tracking_number=shipment.tracking_number,
        lines=[{"order_line_id": ln.order_line_id, "quantity": ln.quantity}
               for ln in sorted(shipment.lines, key=lambda ln: ln.id)],
        created_at=shipment.created_at).model_dump(mode="json")


def refund_out(refund: Refund, currency: str) -> dict:
    return RefundOut(
        id=refund.id, order_id=refund.order_id, payment_id=refund.payment_id,
        amount=refund.amount, currency=currency, status=refund.status,
        provider_reference=refund.provider_reference, reason=refund.reason,
        restock=refund.restock, actor=refund.actor,
        lines=[{"order_line_id": ln.order_line_id, "quantity": ln.quantity}
               for ln in sorted(refund.lines, key=lambda ln: ln.id)],
        created_at=refund.created_at).model_dump(mode="json")


def summary_out(order: Order) -> dict:
    return OrderSummaryOut(
        id=order.id, number=order.number, status=order.status,
        financial_status=order.financial_status, fulfilment_status=order.fulfilment_status,
        payment_method=order.payment_method, currency=order.currency, total=order.total,
        item_count=sum(line.quantity for line in order.lines),
        customer=customer_out(order.customer), delivery_method=order.delivery_method,
        created_at=order.created_at).model_dump(mode="json")


def _delivery(call, order: Order) -> dict:
    zone = point = None
    if order.shipping_zone_id is not None:
        zone = call.db.scalar(select(ShippingZone).where(
            ShippingZone.id == order.shipping_zone_id, ShippingZone.store_id == call.store_id))
    if order.pickup_point_id is not None:
        point = call.db.scalar(select(PickupPoint).where(
            PickupPoint.id == order.pickup_point_id, PickupPoint.store_id == call.store_id))
    return {"method": order.delivery_method, "zone_id": zone.id if zone else None,
            "zone_name": zone.name if zone else None, "address": order.address_text,
            "landmark": order.address_landmark,
            "pickup_point": {"id": point.id, "name": point.name, "address": point.address_text}
            if point else None}


def order_out(call, order: Order) -> dict:
    db, store_id = call.db, call.store_id
    payments = order_payments.payments_for(db, store_id, order.id)
    shipments = db.scalars(select(Fulfilment).where(
        Fulfilment.store_id == store_id, Fulfilment.order_id == order.id).order_by(Fulfilment.id))
    refunds = db.scalars(select(Refund).where(
        Refund.store_id == store_id, Refund.order_id == order.id).order_by(Refund.id))
    return OrderOut(
        id=order.id, number=order.number, status=order.status,
        financial_status=order.financial_status, fulfilment_status=order.fulfilment_status,
        payment_method=order.payment_method, currency=order.currency,
        totals=totals_out(order), discount_code=order.discount_code, note=order.note,
        customer=customer_out(order.customer), delivery=_delivery(call, order),
        lines=[line_out(line) for line in order.lines],
        payments={"paid": order_payments.paid_total(db, store_id, order.id),
                  "refunded": order_payments.refunded_total(db, store_id, order.id),
                  "items": [{"id": p.id, "method": p.method, "amount": p.amount,
                             "status": p.status, "reference": p.reference,
                             "created_at": p.created_at} for p in payments]},
        fulfilments=[fulfilment_out(s) for s in shipments],
        refunds=[refund_out(r, order.currency) for r in refunds],
        created_at=order.created_at, updated_at=order.updated_at).model_dump(mode="json")


def current_order(call, order_id: int) -> dict:
    """The order as the database has it now (after a ``do_*`` changed it)."""
    call.db.expire_all()
    return order_out(call, orders.get_order(call.db, call.store_id, order_id))


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
