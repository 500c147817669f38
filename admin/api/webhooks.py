"""Webhook subscriptions: a merchant's URL gets the store's events of one topic, signed.

The signing secret is made here, shown once in the creation's answer, and kept sealed with the
store secrets' key (``DUKA_ENCRYPTION_KEY``). Deliveries, their signature and retries:
``admin.webhooks``.
"""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from flask import current_app
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from admin.api.errors import ApiError
from admin.api.pages import Body, Page, PageQuery, paginate
from admin.api.routing import endpoint
from admin.models import WebhookDelivery, WebhookSubscription
from admin.webhooks import TOPICS

Topic = Literal[tuple(TOPICS)]  # type: ignore[valid-type]  # one list: admin.webhooks.TOPICS
MAX_SUBSCRIPTIONS = 50  # per store: plenty for a merchant's systems, not a fan-out amplifier
LOCAL_HOSTS = {"localhost", "127.0.0.1"}  # plain http only here: development and tests


class WebhookOut(BaseModel):
    id: int
    topic: Topic
    event: str = Field(description="The Duka event that feeds the topic.")
    url: str
    active: bool
    created_at: datetime


class WebhookPage(Page[WebhookOut]):
    pass


class WebhookCreated(WebhookOut):
    secret: str | None = Field(description="The signing secret, shown this once: each delivery "
                                           "carries X-Duka-Signature: sha256=<hex HMAC-SHA256 "
                                           "of the raw body with it>. A replay (same "
                                           "Idempotency-Key) gives null.")


class NewWebhook(Body):
    topic: Topic
    url: str = Field(min_length=10, max_length=500,
                     description="https://...; plain http only for localhost or 127.0.0.1.")

    @field_validator("url")
    @classmethod
    def _reachable_url(cls, url: str) -> str:
        try:
            parts = urlsplit(url)
            host = parts.hostname or ""
            parts.port  # noqa: B018  (a bad port raises here)
        except ValueError:
            raise ValueError("not a URL") from None
        if any(ch.isspace() for ch in url) or not host or parts.username or parts.password:
            raise ValueError("give a URL like https://example.com/hooks, without credentials")
        if parts.scheme != "https" and not (parts.scheme == "http" and host in LOCAL_HOSTS):
            raise ValueError("the URL must start with https:// (http only for localhost)")
        return url


class DeliveryOut(BaseModel):
    id: int
    delivery_id: str = Field(description="Sent as X-Duka-Delivery and as the body's id.")
    event_id: int
    topic: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    response_status: int | None
    error: str | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveryPage(Page[DeliveryOut]):
    pass


def webhook_out(subscription: WebhookSubscription) -> dict:
    return WebhookOut(id=subscription.id, topic=subscription.topic,
                      event=TOPICS[subscription.topic], url=subscription.url,
                      active=subscription.active,
                      created_at=subscription.created_at).model_dump(mode="json")


def delivery_out(delivery: WebhookDelivery) -> dict:
    return DeliveryOut.model_validate(delivery, from_attributes=True).model_dump(mode="json")


def _subscription(call, webhook_id: int) -> WebhookSubscription:
    subscription = call.db.scalar(select(WebhookSubscription).where(
        WebhookSubscription.id == webhook_id, WebhookSubscription.store_id == call.store_id))
    if subscription is None:
        raise ApiError(404, "not_found", "No such webhook subscription in this store.")
    return subscription


@endpoint("GET", "/webhooks", "webhooks:read", summary="List webhook subscriptions",
          query=PageQuery, response=WebhookPage)
def list_webhooks(call):
    return paginate(call.db, select(WebhookSubscription).where(
        WebhookSubscription.store_id == call.store_id), WebhookSubscription.id, call.query,
        webhook_out)


@endpoint("POST", "/webhooks", "webhooks:write",
          summary="Subscribe a URL to a topic (the signing secret is shown once)",
          body=NewWebhook, response=WebhookCreated, status=201, secret_fields=("secret",))
def create_webhook(call):
    count = call.db.scalar(select(func.count(WebhookSubscription.id)).where(
        WebhookSubscription.store_id == call.store_id))
    if count >= MAX_SUBSCRIPTIONS:
        raise ApiError(409, "too_many_webhooks", f"A store may have at most "
                                                 f"{MAX_SUBSCRIPTIONS} webhook subscriptions.")
    secret = "whsec_" + secrets.token_urlsafe(32)
    box = current_app.extensions["duka.payments"].secrets
    subscription = WebhookSubscription(store_id=call.store_id, topic=call.body.topic,
                                       url=call.body.url, secret=box.seal({"secret": secret}))
    call.db.add(subscription)
    try:
        call.db.commit()
    except IntegrityError:
        call.db.rollback()
        raise ApiError(409, "webhook_exists", "This URL already gets this topic.") from None
    return {**webhook_out(subscription), "secret": secret}


@endpoint("GET", "/webhooks/<int:webhook_id>", "webhooks:read",
          summary="One webhook subscription", response=WebhookOut)
def get_webhook(call, webhook_id: int):
    return webhook_out(_subscription(call, webhook_id))


@endpoint("DELETE", "/webhooks/<int:webhook_id>", "webhooks:write",
          summary="Remove a webhook subscription and its delivery log", response=None,
          status=204)
def delete_webhook(call, webhook_id: int):
    subscription = _subscription(call, webhook_id)
    # Its log goes with it; a delivery still queued finds no row and is dropped.
    call.db.execute(delete(WebhookDelivery).where(
        WebhookDelivery.store_id == call.store_id,
        WebhookDelivery.subscription_id == subscription.id))
    call.db.delete(subscription)
    call.db.commit()
    return None


@endpoint("GET", "/webhooks/<int:webhook_id>/deliveries", "webhooks:read",
          summary="The subscription's delivery log, newest first", tag="webhooks",
          query=PageQuery, response=DeliveryPage)
def list_deliveries(call, webhook_id: int):
    subscription = _subscription(call, webhook_id)
    return paginate(call.db, select(WebhookDelivery).where(
        WebhookDelivery.store_id == call.store_id,
        WebhookDelivery.subscription_id == subscription.id), WebhookDelivery.id, call.query,
        delivery_out)
