"""Merchant webhooks: the store's outbox events POSTed to the URLs its merchant subscribed.

``on_event`` is an outbox handler (``create_app`` subscribes it to every name in
``EVENT_NAMES``). It records one ``WebhookDelivery`` per matching active subscription of the
event's store, keyed by (subscription, event) so a relay that runs twice records one, and queues
``deliver_webhook`` for each row not yet tried. The job POSTs the JSON body
``{"id", "topic", "created_at", "data"}`` signed with the subscription's secret::

    X-Duka-Signature: sha256=<hex HMAC-SHA256(secret, raw body bytes)>
    X-Duka-Delivery: <id, the same on every retry: deduplicate on it>
    X-Duka-Topic: orders/create
    X-Duka-Timestamp: <unix seconds of this attempt>

A 2xx answer is delivered; anything else (or no answer) is counted and raised, so the job
queue tries again with its backoff; after the last attempt the row stays ``failed`` with the
error. Redirects are not followed: the URL the merchant gave is the one we call.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from admin.context import services as admin_services
from admin.models import WebhookDelivery, WebhookSubscription
from commerce import events
from commerce.db import utcnow
from commerce.models import OutboxEvent
from payments.context import services as payment_services

log = logging.getLogger(__name__)

# The topics a merchant may subscribe to, and the outbox event each one is fed by.
TOPICS: dict[str, str] = {
    "orders/create": events.ORDER_PLACED,
    "orders/paid": events.ORDER_PAID,
    "orders/fulfilled": events.ORDER_FULFILLED,
    "orders/shipped": events.ORDER_SHIPPED,
    "orders/delivered": events.ORDER_DELIVERED,
    "orders/cancelled": events.ORDER_CANCELLED,
    "orders/refunded": events.ORDER_REFUNDED,
    "payments/completed": events.PAYMENT_COMPLETED,
    "payments/failed": events.PAYMENT_FAILED,
    "inventory/low_stock": events.INVENTORY_LOW_STOCK,
    "customers/create": events.CUSTOMER_REGISTERED,
    "carts/abandoned": events.CART_ABANDONED,
}
EVENT_NAMES = tuple(sorted(set(TOPICS.values())))

DELIVERY_RETRIES = 5  # six attempts in all, spaced by the queue's JOB_RETRY_INTERVALS
MAX_ATTEMPTS = DELIVERY_RETRIES + 1
TIMEOUT = httpx.Timeout(10.0, connect=5.0)  # a merchant's slow server must not hold a worker
USER_AGENT = "Duka-Webhooks/1"


def topics_for(event_name: str) -> list[str]:
    return [topic for topic, name in TOPICS.items() if name == event_name]


def sign(secret: str, body: bytes) -> str:
    """The ``X-Duka-Signature`` value: what a merchant recomputes over the raw bytes."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# -- the outbox handler -------------------------------------------------------------------------
def on_event(event: OutboxEvent) -> None:
    """Record a delivery for each active subscription of the event's store to its topic(s),
    and queue their sending. Idempotent: an event relayed twice is delivered once."""
    topics = topics_for(event.name)
    if event.store_id is None or not topics:
        return
    # Its own session, committed before the jobs are queued: an inline job (or a fast worker)
    # must find the rows, and the relay's session stays untouched until it marks the event.
    with admin_services().db() as db:
        subscriptions = db.scalars(select(WebhookSubscription).where(
            WebhookSubscription.store_id == event.store_id,
            WebhookSubscription.topic.in_(topics),
            WebhookSubscription.active.is_(True)).order_by(WebhookSubscription.id)).all()
        for subscription in subscriptions:
            try:
                with db.begin_nested():
                    db.add(WebhookDelivery(store_id=event.store_id,
                                           subscription_id=subscription.id, event_id=event.id,
                                           delivery_id=str(uuid.uuid4()),
                                           topic=subscription.topic))
            except IntegrityError:  # recorded by an earlier relay of this event
                pass
        db.commit()
        # New rows, and any an earlier relay recorded but could not queue (Redis down): a
        # row tried once already has its retries in the queue.
        waiting = db.scalars(select(WebhookDelivery.delivery_id).where(
            WebhookDelivery.store_id == event.store_id, WebhookDelivery.event_id == event.id,
            WebhookDelivery.status == "pending", WebhookDelivery.attempts == 0)
            .order_by(WebhookDelivery.id)).all()
    jobs = payment_services().jobs
    for delivery_id in waiting:
        jobs.enqueue(deliver_webhook, delivery_id, retries=DELIVERY_RETRIES)


# -- the job ------------------------------------------------------------------------------------
class DeliveryFailed(Exception):
    """Raised so the job queue retries the delivery later."""


def deliver_webhook(delivery_id: str) -> None:
    """Job: POST one delivery to its subscription's URL (see the module's docstring)."""
    with admin_services().db() as db:
        delivery = db.scalar(select(WebhookDelivery).where(
            WebhookDelivery.delivery_id == delivery_id))
        if delivery is None or delivery.status != "pending":  # removed, or done already
            return
        subscription = db.get(WebhookSubscription, delivery.subscription_id)
        event = db.scalar(select(OutboxEvent).where(OutboxEvent.id == delivery.event_id,
                                                    OutboxEvent.store_id == delivery.store_id))
        if subscription is None or not subscription.active or event is None:
            delivery.status, delivery.error = "failed", "The subscription was switched off."
            db.commit()
            return
        body = json.dumps({"id": delivery.delivery_id, "topic": delivery.topic,
                           "created_at": event.created_at.isoformat(),
                           "data": event.payload}, separators=(",", ":")).encode()
        response_status, problem = None, None
        try:
            secret = payment_services().secrets.open(subscription.secret)["secret"]
            response = httpx.post(subscription.url, content=body, timeout=TIMEOUT,
                                  follow_redirects=False, headers={
                                      "Content-Type": "application/json",
                                      "User-Agent": USER_AGENT,
                                      "X-Duka-Topic": delivery.topic,
                                      "X-Duka-Delivery": delivery.delivery_id,
                                      "X-Duka-Signature": sign(secret, body),
                                      "X-Duka-Timestamp": str(int(time.time()))})
            response_status = response.status_code
            if not 200 <= response.status_code < 300:
                problem = f"HTTP {response.status_code}: {response.text[:200]}"
        except httpx.HTTPError as error:
            problem = f"{error.__class__.__name__}: {error}"[:300]
        except Exception as error:  # a secret that no longer opens, say: logged, retried
            problem = f"{error.__class__.__name__}: {error}"[:300]
        delivery.attempts += 1
        delivery.response_status = response_status
        delivery.error = problem
        if problem is None:
            delivery.status, delivery.delivered_at = "delivered", utcnow()
        elif delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = "failed"  # the last attempt: the log shows why
        db.commit()
        if problem is not None and delivery.status == "pending":
            log.warning("webhook %s to %s: %s (attempt %d of %d)", delivery_id,
                        subscription.url, problem, delivery.attempts, MAX_ATTEMPTS)
            raise DeliveryFailed(problem)
