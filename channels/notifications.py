"""Messages the shopper gets when something happens to their order."""
from __future__ import annotations

from channels.context import services
from commerce import orders
from commerce.models import OutboxEvent, Store

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
