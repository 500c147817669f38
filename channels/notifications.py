"""Messages the shopper gets when something happens to their order or its payment."""
from __future__ import annotations

from channels.context import services
from commerce import orders
from commerce.models import OutboxEvent, Payment, Store

SEND_RETRIES = 3


def on_order_placed(event: OutboxEvent) -> None:
    """``order.placed`` handler: queue the SMS receipt as its own job, retried on failure."""
    services().jobs.enqueue(send_order_receipt, event.store_id, event.payload["order_id"],
                            retries=SEND_RETRIES)


def send_order_receipt(store_id: int, order_id: int) -> None:
    ctx = services()
    with ctx.db() as db:
        store = db.get(Store, store_id)
        order = orders.get_order(db, store_id, order_id)
        message = orders.sms_receipt(order, store, locale=f"en_{store.country}")
        phone = order.customer.phone
    ctx.sms.send(phone, message)


# -- payments -----------------------------------------------------------------------------------
METHOD_NAMES = {"mpesa": "M-Pesa", "momo": "MTN MoMo", "paystack": "card",
                "flutterwave": "card", "cod": "cash"}


def _queue(handler, event: OutboxEvent) -> None:
    services().jobs.enqueue(handler, event.store_id, event.payload["order_id"],
                            event.payload.get("payment_id"), retries=SEND_RETRIES)


def on_payment_completed(event: OutboxEvent) -> None:
    _queue(send_payment_receipt, event)


def on_payment_failed(event: OutboxEvent) -> None:
    _queue(send_payment_failed, event)


def on_payment_link(event: OutboxEvent) -> None:
    _queue(send_payment_link, event)


def _payment_message(store_id: int, order_id: int, payment_id: int | None, compose) -> None:
    ctx = services()
    with ctx.db() as db:
        store = db.get(Store, store_id)
        order = orders.get_order(db, store_id, order_id)
        payment = db.get(Payment, payment_id) if payment_id else None
        if payment is None or payment.store_id != store_id:
            return
        message = compose(store, order, payment)
        phone = payment.phone or order.customer.phone
    if message:
        ctx.sms.send(phone, message)


def send_payment_receipt(store_id: int, order_id: int, payment_id: int | None) -> None:
    def compose(store, order, payment):
        paid = store.money(payment.amount).format(f"en_{store.country}")
        how = METHOD_NAMES.get(payment.method, payment.method)
        receipt = f" ref {payment.reference}" if payment.reference else ""
        simulated = " (SIMULATED, no real money)" if payment.simulated else ""
        return (f"{store.name}: we received {paid} by {how}{receipt}{simulated} for order "
                f"#{order.number}. Asante!")
    _payment_message(store_id, order_id, payment_id, compose)


def send_payment_failed(store_id: int, order_id: int, payment_id: int | None) -> None:
    def compose(store, order, payment):
        how = METHOD_NAMES.get(payment.method, payment.method)
        why = payment.failure_reason or "it did not go through"
        return (f"{store.name}: your {how} payment for order #{order.number} failed: "
                f"{why.rstrip('.')}. To try again, dial in and choose My orders, then Pay.")
    _payment_message(store_id, order_id, payment_id, compose)


def send_payment_link(store_id: int, order_id: int, payment_id: int | None) -> None:
    def compose(store, order, payment):
        if not payment.redirect_url or payment.status != "pending":
            return None
        due = store.money(payment.amount).format(f"en_{store.country}")
        return (f"{store.name}: pay {due} for order #{order.number} here: "
                f"{payment.redirect_url}")
    _payment_message(store_id, order_id, payment_id, compose)
