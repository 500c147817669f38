"""Webhook subscriptions: a merchant's URL gets the store's events of one topic, signed.

The signing secret is made by ``admin.webhooks.do_subscribe``, shown once in the creation's
answer, and kept sealed with the store secrets' key (``DUKA_ENCRYPTION_KEY``). Which URLs are
allowed (https to a public host; http and local hosts only with ``WEBHOOKS_ALLOW_INSECURE``),
deliveries, their signature and retries: ``admin.webhooks``.
"""
from __future__ import annotations

from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from flask import current_app
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select

from admin import webhooks
from admin.api.pages import Body, Page, PageQuery, paginate
from admin.api.routing import endpoint, in_store
from admin.models import WebhookDelivery, WebhookSubscription
from admin.webhooks import TOPICS

Topic = Literal[tuple(TOPICS)]  # type: ignore[valid-type]  # one list: admin.webhooks.TOPICS


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
                                           "carries X-Duka-Timestamp and X-Duka-Signature: "
                                           "sha256=<hex HMAC-SHA256 with it of the timestamp, "
                                           "a dot, and the raw body>. A replay (same "
                                           "Idempotency-Key) gives null.")


class NewWebhook(Body):
    topic: Topic
    url: str = Field(min_length=10, max_length=500,
                     description="https://... to a public host (plain http and local hosts "
                                 "only on a development server).")

    @field_validator("url")
    @classmethod
    def _a_url(cls, url: str) -> str:
        try:
            parts = urlsplit(url)
            host = parts.hostname or ""
            parts.port  # noqa: B018  (a bad port raises here)
        except ValueError:
            raise ValueError("not a URL") from None
        if any(ch.isspace() for ch in url) or not host or parts.username or parts.password:
            raise ValueError("give a URL like https://example.com/hooks, without credentials")
        if parts.scheme not in ("https", "http"):
            raise ValueError("the URL must start with https://")
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
    return in_store(call, WebhookSubscription, webhook_id, "webhook subscription")


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
    box = current_app.extensions["duka.payments"].secrets
    subscription, secret = webhooks.do_subscribe(call.db, call.store_id, call.body.topic,
                                                 call.body.url, box,
                                                 webhooks.insecure_urls_allowed())
    return {**webhook_out(subscription), "secret": secret}


@endpoint("GET", "/webhooks/<int:webhook_id>", "webhooks:read",
          summary="One webhook subscription", response=WebhookOut)
def get_webhook(call, webhook_id: int):
    return webhook_out(_subscription(call, webhook_id))


@endpoint("DELETE", "/webhooks/<int:webhook_id>", "webhooks:write",
          summary="Remove a webhook subscription and its delivery log", response=None,
          status=204)
def delete_webhook(call, webhook_id: int):
    webhooks.do_unsubscribe(call.db, _subscription(call, webhook_id))


@endpoint("GET", "/webhooks/<int:webhook_id>/deliveries", "webhooks:read",
          summary="The subscription's delivery log, newest first", tag="webhooks",
          query=PageQuery, response=DeliveryPage)
def list_deliveries(call, webhook_id: int):
    subscription = _subscription(call, webhook_id)
    return paginate(call.db, select(WebhookDelivery).where(
        WebhookDelivery.store_id == call.store_id,
        WebhookDelivery.subscription_id == subscription.id), WebhookDelivery.id, call.query,
        delivery_out)
