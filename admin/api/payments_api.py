"""Money over the API: payments (list, one, refund one, cash received on delivery) and refunds
of an order.

A refund of an order paid online goes back through the provider it came from
(``payments.refunds.do_refund_payment``); cash, or money given back by hand, is recorded by
``commerce.refunds``. Either way the core refuses more than was paid (409
``refund_exceeds_payment``) and changes nothing. Provider credentials live in the gateway rows,
which this module never reads.
"""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select

from admin.api.errors import ApiError
from admin.api.order_answers import RefundOut, refund_out
from admin.api.orders import LineQuantity, Reason, check_lines_once
from admin.api.pages import Amount, Body, Id, Page, PageQuery, paginate
from admin.api.routing import endpoint
from commerce import orders
from commerce import refunds as commerce_refunds
from commerce.checkout import PAYMENT_METHODS
from commerce.errors import NotFound
from commerce.models import Order, Payment, Refund
from payments import cod
from payments import refunds as payment_refunds
from payments.base import CANCELLED, CREATED, EXPIRED, FAILED, PENDING, SUCCEEDED
from payments.context import services as payment_services
from payments.service import payment_for_store

PaymentStatus = Literal[CREATED, PENDING, SUCCEEDED, FAILED, CANCELLED, EXPIRED]


# -- answers ------------------------------------------------------------------------------------
class PaymentOut(BaseModel):
    id: int
    order_id: int
    order_number: int
    method: str = Field(description="cod, mpesa, momo, paystack, flutterwave.")
    amount: int = Field(description="Minor units.")
    currency: str
    status: str = Field(description="created, pending, succeeded, failed, cancelled, expired.")
    reference: str | None = Field(description="The receipt a person reads (an M-Pesa code).")
    provider_reference: str | None = Field(description="The provider's handle for it.")
    phone: str | None = Field(description="Who was asked to pay (E.164).")
    failure_reason: str
    redirect_url: str | None = Field(description="A card checkout page the shopper was sent.")
    simulated: bool = Field(description="The demo's pretend M-Pesa: no real money.")
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime | None


class PaymentPage(Page[PaymentOut]):
    pass


class PaymentDetailOut(PaymentOut):
    refunds: list[RefundOut] = Field(description="Paid back from this payment, oldest first.")


# -- requests -----------------------------------------------------------------------------------
class PaymentQuery(PageQuery):
    status: PaymentStatus | None = None
    method: Literal[PAYMENT_METHODS] | None = None
    order_id: Id | None = None


class PaymentRefund(Body):
    amount: Amount = Field(description="Minor units to give back; more than 0.")
    reason: Reason = ""


class CashReceived(Body):
    order_id: Id = Field(description="A cash-on-delivery order.")


class NewRefund(Body):
    amount: Amount | None = Field(
        None, description="Minor units to give back (more than 0). Absent: the returned lines "
                          "at the price paid for them.")
    lines: list[LineQuantity] | None = Field(
        None, min_length=1, max_length=100, description="Units coming back (sent ones only).")
    restock: bool = Field(False, description="Put the returned units back on the shelf.")
    reason: Reason = ""
    by_hand: bool = Field(False, description="true: the money goes back outside Duka (cash, "
                                             "a transfer), even for an order paid online.")

    @model_validator(mode="after")
    def _something(self):
        if self.amount is None and not self.lines:
            raise ValueError("give an amount, lines, or both")
        check_lines_once(self.lines, "line_id")
        return self


# -- shaping ------------------------------------------------------------------------------------
def _numbers(call, order_ids) -> dict[int, int]:
    ids = set(order_ids)
    return dict(call.db.execute(select(Order.id, Order.number).where(
        Order.store_id == call.store_id, Order.id.in_(ids))).all()) if ids else {}


def _payment(payment: Payment, number: int) -> dict:
    return PaymentOut(
        id=payment.id, order_id=payment.order_id, order_number=number, method=payment.method,
        amount=payment.amount, currency=payment.currency, status=payment.status,
        reference=payment.reference, provider_reference=payment.provider_reference,
        phone=payment.phone, failure_reason=payment.failure_reason,
        redirect_url=payment.redirect_url, simulated=payment.simulated,
        expires_at=payment.expires_at, created_at=payment.created_at,
        updated_at=payment.updated_at).model_dump(mode="json")


def payment_detail(call, payment: Payment) -> dict:
    refunds = call.db.scalars(select(Refund).where(
        Refund.store_id == call.store_id, Refund.payment_id == payment.id).order_by(Refund.id))
    return {**_payment(payment, _numbers(call, [payment.order_id])[payment.order_id]),
            "refunds": [refund_out(r, payment.currency) for r in refunds]}


def _online_payment(call, order: Order) -> Payment | None:
    """The money to give back through a provider: the order's latest payment that went through
    and was not cash (``do_refund_payment`` itself treats the demo's pretend M-Pesa as cash)."""
    return call.db.scalar(select(Payment).where(
        Payment.store_id == call.store_id, Payment.order_id == order.id,
        Payment.status == SUCCEEDED, Payment.method != "cod").order_by(Payment.id.desc())
        .limit(1))


def _lines_value(order: Order, lines: dict[int, int]) -> int:
    by_id = {line.id: line for line in order.lines}
    if any(line_id not in by_id for line_id in lines):
        raise NotFound(f"Order #{order.number} has no such item.")
    return sum(by_id[line_id].unit_price * quantity for line_id, quantity in lines.items())


# -- payments -----------------------------------------------------------------------------------
@endpoint("GET", "/payments", "payments:read", summary="List payments, newest first",
          tag="payments", query=PaymentQuery, response=PaymentPage)
def list_payments(call):
    query = call.query
    statement = select(Payment).where(Payment.store_id == call.store_id)
    for column, wanted in ((Payment.status, query.status), (Payment.method, query.method),
                           (Payment.order_id, query.order_id)):
        if wanted is not None:
            statement = statement.where(column == wanted)
    page = paginate(call.db, statement, Payment.id, query, lambda payment: payment)
    numbers = _numbers(call, [p.order_id for p in page["items"]])
    return {**page, "items": [_payment(p, numbers[p.order_id]) for p in page["items"]]}


@endpoint("GET", "/payments/<int:payment_id>", "payments:read", summary="One payment",
          tag="payments", response=PaymentDetailOut)
def get_payment(call, payment_id: int):
    return payment_detail(call, payment_for_store(call.db, call.store_id, payment_id))


@endpoint("POST", "/payments/<int:payment_id>/refunds", "payments:write",
          summary="Give money back through the payment's provider (cash: by hand)",
          tag="payments", body=PaymentRefund, response=RefundOut, status=201)
def refund_payment(call, payment_id: int):
    currency = payment_for_store(call.db, call.store_id, payment_id).currency
    refund = payment_refunds.do_refund_payment(
        call.db, payment_services(), call.store, payment_id, call.body.amount,
        reason=call.body.reason, actor=call.principal.name)
    return refund_out(refund, currency)


@endpoint("POST", "/payments/cash", "payments:write",
          summary="Record the cash a cash-on-delivery order owes as received (once)",
          tag="payments", body=CashReceived, response=PaymentDetailOut)
def cash_received(call):
    payment = cod.do_mark_cash_received(call.db, call.store, call.body.order_id,
                                        actor=call.principal.name)
    return payment_detail(call, payment)


# -- refunds of an order ------------------------------------------------------------------------
@endpoint("POST", "/orders/<int:order_id>/refunds", "orders:write",
          summary="Refund an order: money, returned units, or both", tag="orders",
          body=NewRefund, response=RefundOut, status=201)
def refund_order(call, order_id: int):
    body, store, actor = call.body, call.store, call.principal.name
    order = orders.get_order(call.db, call.store_id, order_id)
    lines = {ln.line_id: ln.quantity for ln in body.lines or ()}
    amount = body.amount if body.amount is not None else _lines_value(order, lines)
    online = None if body.by_hand else _online_payment(call, order)
    if online is None:
        refund = commerce_refunds.do_refund(call.db, store, order.id, amount, lines or None,
                                            restock=body.restock, reason=body.reason,
                                            actor=actor)
    elif lines or body.restock:
        # payments.refunds.do_refund_payment takes money only (see the module's report).
        raise ApiError(422, "refund_lines_need_by_hand",
                       f"Order #{order.number} was paid by {online.method}: a refund through "
                       "it is of money only. Leave out lines and restock, or set by_hand.")
    else:
        refund = payment_refunds.do_refund_payment(call.db, payment_services(), store,
                                                   online.id, amount, reason=body.reason,
                                                   actor=actor)
    return refund_out(refund, order.currency)
