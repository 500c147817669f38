"""What an order looks like over the API: the answer models and the functions that shape an
order, its lines, totals, delivery, payments, shipments and refunds into them. Used by
``orders``, ``drafts`` and ``payments_api``; it declares no endpoint.
"""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import select

from admin.api.pages import Page
from commerce import order_flow, order_payments, orders
from commerce.models import Customer, Fulfilment, Order, PickupPoint, Refund, ShippingZone

Status = Literal[tuple(order_flow.STATES)]


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
