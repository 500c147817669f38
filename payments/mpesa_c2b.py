"""M-Pesa C2B: shoppers who pay by paybill, typing the order number as the account number.

Daraja calls two URLs registered for the shop's shortcode (``POST /mpesa/c2b/v2/registerurl``
with ``ValidationURL`` and ``ConfirmationURL``), both carrying the store's callback token:

- ``POST /payments/mpesa/c2b/<token>/validation``, before M-Pesa takes the money (only if
  Safaricom enabled validation for the shortcode): accept only an unpaid order of this store
  whose amount owed is exactly what is being paid; otherwise reject with ``C2B00012`` (invalid
  account number) or ``C2B00013`` (invalid amount), so the shopper's money is never taken.
- ``POST /payments/mpesa/c2b/<token>/confirmation``, after the money moved: record it once,
  keyed by ``TransID`` (the M-Pesa receipt). The money is already the shop's, so it is always
  acknowledged; one that names no order is kept as an ``ignored`` callback for a person.
"""
from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation

from flask import Blueprint, jsonify
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from commerce import events
from commerce.db import committing
from commerce.errors import DomainError
from commerce.models import Order, PaymentCallback, Store
from commerce.money import Money
from commerce.order_payments import do_record_payment
from payments.base import BadCallback
from payments.context import services
from payments.gateways import gateway_by_token
from payments.service import OrderNotPayable, check_payable, do_record_callback
from payments.views import error, read_callback

log = logging.getLogger(__name__)

bp = Blueprint("mpesa_c2b", __name__, url_prefix="/payments/mpesa/c2b")

ACCEPTED = {"ResultCode": "0", "ResultDesc": "Accepted"}
INVALID_ACCOUNT = {"ResultCode": "C2B00012", "ResultDesc": "Rejected"}
INVALID_AMOUNT = {"ResultCode": "C2B00013", "ResultDesc": "Rejected"}
INVALID_SHORTCODE = {"ResultCode": "C2B00015", "ResultDesc": "Rejected"}
CONFIRMED = {"ResultCode": 0, "ResultDesc": "Success"}


def order_number(bill_ref) -> int | None:
    """What shoppers type as the account: ``1004``, ``#1004``, ``order 1004``."""
    text = str(bill_ref or "").strip().upper().replace(" ", "").lstrip("#")
    text = text.removeprefix("ORDER").lstrip("#")
    return int(text) if text.isdigit() and len(text) <= 9 else None


def minor_units(trans_amount) -> int | None:
    """``TransAmount`` ("340" or "340.00", whole shillings) as KES cents."""
    try:
        minor = Decimal(str(trans_amount).strip()).scaleb(2)
    except (InvalidOperation, ValueError):
        return None
    if not minor.is_finite() or minor <= 0 or minor != minor.to_integral_value():
        return None
    return int(minor)


def _find_order(session: Session, store: Store, bill_ref) -> Order | None:
    number = order_number(bill_ref)
    if number is None:
        return None
    return session.scalar(select(Order).where(Order.store_id == store.id,
                                              Order.number == number))


def _store_for(session: Session, token: str):
    """(store, gateway) for a callback token; None for an unknown one."""
    row = gateway_by_token(session, "mpesa", token)
    if row is None or (row.simulated and not services().allow_simulated):
        return None
    return session.get(Store, row.store_id), row


@bp.post("/<token>/validation")
def validation(token: str):
    with services().db() as session:
        found = _store_for(session, token)
        if found is None:
            return error("not_found", "No such callback.", 404)
        store, row = found
        try:
            body = read_callback().body
        except BadCallback as problem:
            return error("bad_callback", str(problem), 400)
        shortcode = str((row.settings or {}).get("shortcode") or "")
        if shortcode and str(body.get("BusinessShortCode", shortcode)) != shortcode:
            return jsonify(INVALID_SHORTCODE)
        order = _find_order(session, store, body.get("BillRefNumber"))
        try:
            owed = check_payable(session, store, order) if order is not None else None
        except OrderNotPayable:
            owed = None
        if owed is None:
            log.info("store %s: C2B for account %r rejected (no unpaid order)", store.id,
                     body.get("BillRefNumber"))
            return jsonify(INVALID_ACCOUNT)
        if minor_units(body.get("TransAmount")) != owed:
            log.info("store %s: C2B of %r for order #%s rejected (owes %s)", store.id,
                     body.get("TransAmount"), order.number, owed)
            return jsonify(INVALID_AMOUNT)
        return jsonify(ACCEPTED)


@bp.post("/<token>/confirmation")
def confirmation(token: str):
    with services().db() as session:
        found = _store_for(session, token)
        if found is None:
            return error("not_found", "No such callback.", 404)
        store, _ = found
        try:
            body = read_callback().body
        except BadCallback as problem:
            return error("bad_callback", str(problem), 400)
        trans_id, amount = str(body.get("TransID") or "").strip(), body.get("TransAmount")
        if not trans_id or minor_units(amount) is None:
            return error("bad_callback", "TransID and TransAmount are needed.", 400)
        key = f"c2b:{trans_id}"
        order = _find_order(session, store, body.get("BillRefNumber"))
        if order is None:
            do_record_callback(session, "mpesa", key, "ignored",
                               f"account {str(body.get('BillRefNumber'))[:40]!r} is no order",
                               body, store_id=store.id)
            return jsonify(CONFIRMED)
        order_id = order.id
        first_time = do_record_callback(session, "mpesa", key, "applied", "paybill payment",
                                        body, store_id=store.id)
        try:  # idempotent by TransID: a repeat returns the payment recorded first
            payment = do_record_payment(session, store, order_id, "mpesa",
                                        Money(minor_units(amount), "KES"), trans_id,
                                        actor="mpesa:c2b")
        except DomainError as problem:
            log.warning("store %s: C2B %s not recorded: %s", store.id, trans_id, problem)
            with committing(session):
                _note(session, key, "ignored", str(problem), None)
            return jsonify(CONFIRMED)
        if first_time:
            with committing(session):
                _note(session, key, "applied", f"order #{order.number}", payment.id)
                events.record(session, store.id, events.PAYMENT_COMPLETED,
                              {"order_id": order_id, "payment_id": payment.id,
                               "method": "mpesa", "amount": payment.amount})
        return jsonify(CONFIRMED)


def _note(session: Session, key: str, outcome: str, note: str, payment_id: int | None) -> None:
    session.execute(update(PaymentCallback).where(
        PaymentCallback.provider == "mpesa", PaymentCallback.dedup_key == key)
        .values(outcome=outcome, note=note[:300], payment_id=payment_id))
