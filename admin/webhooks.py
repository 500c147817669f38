"""Merchant webhooks: the store's outbox events POSTed to the URLs its merchant subscribed.

``do_subscribe`` checks a URL (``check_url``) and keeps the subscription with its signing
secret, sealed. ``on_event`` is an outbox handler (``create_app`` subscribes it to every name in
``EVENT_NAMES``). It records one ``WebhookDelivery`` per matching active subscription of the
event's store, keyed by (subscription, event) so a relay that runs twice records one, and queues
``deliver_webhook`` for each row not yet tried. The job POSTs the JSON body
``{"id", "topic", "created_at", "data"}`` signed with the subscription's secret over the
attempt's time and the body, so a captured request cannot be replayed later::

    X-Duka-Timestamp: <unix seconds of this attempt>
    X-Duka-Signature: sha256=<hex HMAC-SHA256(secret, b"<timestamp>." + raw body bytes)>
    X-Duka-Delivery: <id, the same on every retry: deduplicate on it>
    X-Duka-Topic: orders/create

The receiver recomputes the signature (``verify``), compares it in constant time, and refuses a
timestamp more than ``TOLERANCE_SECONDS`` from its own clock.

A 2xx answer is delivered; anything else (or no answer) is counted and raised, so the job
queue tries again with its backoff; after the last attempt the row stays ``failed`` with the
error. Redirects are not followed: the URL the merchant gave is the one we call.

URLs are ``https://`` to a public host. Plain ``http://`` and local hosts (``localhost``,
loopback, private and link-local addresses) are for development only: allowed when the
``WEBHOOKS_ALLOW_INSECURE`` setting is on (the demo and the tests turn it on), refused on
subscribing and not called on delivering otherwise. A host given by name is looked up each
time, and refused if any address it has is local: a public-looking name pointing at 127.0.0.1
or a cloud's metadata address (169.254.169.254) would otherwise let a merchant make this server
call its own network. (A name whose DNS answer changes between that look-up and the POST's own
is not caught.)
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import os
import secrets
import socket
import time
import uuid
from urllib.parse import urlsplit

import httpx
from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from admin.context import services as admin_services
from admin.models import WebhookDelivery, WebhookSubscription
from commerce import events
from commerce.db import committing, utcnow
from commerce.errors import DomainError
from commerce.models import OutboxEvent
from payments.context import services as payment_services
from payments.secrets import SecretBox

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
    "orders/overpaid": events.ORDER_OVERPAID,
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
TOLERANCE_SECONDS = 300  # how far from a receiver's clock a delivery's timestamp may be
MAX_SUBSCRIPTIONS = 50  # per store: plenty for a merchant's systems, not a fan-out amplifier


def topics_for(event_name: str) -> list[str]:
    return [topic for topic, name in TOPICS.items() if name == event_name]


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Duka-Signature`` value: what a merchant recomputes over the raw bytes, with the
    ``X-Duka-Timestamp`` they came with."""
    signed = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str,
           tolerance: int = TOLERANCE_SECONDS, now: float | None = None) -> bool:
    """A receiver's check (the README shows the same in a few lines): the signature matches,
    and the timestamp is within ``tolerance`` seconds of ``now``."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except (TypeError, ValueError):
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature)


# -- subscribing --------------------------------------------------------------------------------
class InvalidWebhookUrl(DomainError):
    code = "invalid_webhook_url"


class InvalidTopic(DomainError):
    code = "invalid_topic"


class WebhookExists(DomainError):
    code = "webhook_exists"


class TooManyWebhooks(DomainError):
    code = "too_many_webhooks"


def insecure_urls_allowed() -> bool:
    """The ``WEBHOOKS_ALLOW_INSECURE`` setting (app config, else the environment): on for
    development, tests and the demo only."""
    value = current_app.config.get("WEBHOOKS_ALLOW_INSECURE",
                                   os.environ.get("WEBHOOKS_ALLOW_INSECURE", ""))
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _local(host: str) -> bool:
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name: where it leads is for ``addresses`` to find out
    return (address.is_loopback or address.is_private or address.is_link_local
            or address.is_unspecified or address.is_reserved or address.is_multicast)


def addresses(host: str) -> list[str]:
    """The addresses the DNS gives for ``host`` ([] if it gives none: such a URL fails when
    called, like any unreachable one)."""
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    return [info[4][0].split("%", 1)[0] for info in found]  # "fe80::1%eth0": no zone


def _leads_to_local(host: str) -> bool:
    return _local(host) or any(_local(address) for address in addresses(host))


def check_url(url: str, allow_insecure: bool) -> str:
    """A URL we may POST a store's events to: ``https://`` to a public host, or (only when
    ``allow_insecure``) plain ``http://`` or a local host."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018  (a bad port raises here)
    except ValueError:
        raise InvalidWebhookUrl("That is not a URL.") from None
    if (parts.scheme not in ("http", "https") or not host or parts.username or parts.password
            or any(ch.isspace() for ch in url)):
        raise InvalidWebhookUrl("Give a URL like https://example.com/hooks, without "
                                "credentials.")
    if not allow_insecure and (parts.scheme != "https" or _leads_to_local(host)):
        raise InvalidWebhookUrl("A webhook URL must start with https:// and lead to a public "
                                "host: plain http and local addresses (localhost, 127.0.0.1, "
                                "private networks) are for development servers only "
                                "(WEBHOOKS_ALLOW_INSECURE).")
    return url


def do_subscribe(session: Session, store_id: int, topic: str, url: str, box: SecretBox,
                 allow_insecure: bool) -> tuple[WebhookSubscription, str]:
    """Subscribe ``url`` to one topic of the store's events; commits. Returns the subscription
    and its signing secret, which is kept sealed and shown this once."""
    if topic not in TOPICS:
        raise InvalidTopic(f"{topic!r} is not a topic: use one of {', '.join(TOPICS)}.")
    url = check_url(url, allow_insecure)
    count = session.scalar(select(func.count(WebhookSubscription.id)).where(
        WebhookSubscription.store_id == store_id))
    if count >= MAX_SUBSCRIPTIONS:
        raise TooManyWebhooks(f"A store may have at most {MAX_SUBSCRIPTIONS} webhook "
                              "subscriptions.")
    secret = "whsec_" + secrets.token_urlsafe(32)
    try:
        with committing(session):
            subscription = WebhookSubscription(store_id=store_id, topic=topic, url=url,
                                               secret=box.seal({"secret": secret}))
            session.add(subscription)
    except IntegrityError:
        raise WebhookExists("This URL already gets this topic.") from None
    return subscription, secret


def do_unsubscribe(session: Session, subscription: WebhookSubscription) -> None:
    """Remove a subscription and its delivery log; commits. A delivery still queued finds no
    row and is dropped."""
    with committing(session):
        session.execute(delete(WebhookDelivery).where(
            WebhookDelivery.store_id == subscription.store_id,
            WebhookDelivery.subscription_id == subscription.id))
        session.delete(subscription)


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
        try:
            check_url(subscription.url, insecure_urls_allowed())
        except InvalidWebhookUrl as refused:  # subscribed while this server allowed it
            delivery.status, delivery.error = "failed", refused.message[:300]
            db.commit()
            return
        body = json.dumps({"id": delivery.delivery_id, "topic": delivery.topic,
                           "created_at": event.created_at.isoformat(),
                           "data": event.payload}, separators=(",", ":")).encode()
        response_status, problem = None, None
        try:
            secret = payment_services().secrets.open(subscription.secret)["secret"]
            timestamp = str(int(time.time()))  # this attempt's: a retry is signed afresh
            response = httpx.post(subscription.url, content=body, timeout=TIMEOUT,
                                  follow_redirects=False, headers={
                                      "Content-Type": "application/json",
                                      "User-Agent": USER_AGENT,
                                      "X-Duka-Topic": delivery.topic,
                                      "X-Duka-Delivery": delivery.delivery_id,
                                      "X-Duka-Timestamp": timestamp,
                                      "X-Duka-Signature": sign(secret, timestamp, body)})
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
