"""The merchant REST API under ``/api/v1``. A new resource: one module, one line below."""
from __future__ import annotations

import gzip
import time

from flask import Flask, request

from admin.api import errors
from admin.api.routing import PREFIX, bp
from admin.context import services

# Each module declares its endpoints with ``@endpoint``; importing it registers them.
from admin.api import (  # noqa: E402,F401
    carts, catalog, catalog_groups, catalog_io, channel_settings, customers, discounts, drafts,
    gateways, inventory, openapi, orders, payments_api, reports, shipping, signin, staff, store,
    sync, sync_cart, webhooks,
)
from admin.api import templates_api  # noqa: E402,F401
from admin.api import broadcasts_api  # noqa: E402,F401

GZIP_MIN_BYTES = 512  # smaller answers gain less than the gzip header costs


def init_app(app: Flask) -> None:
    errors.register(app, PREFIX)
    app.register_blueprint(bp)


@bp.before_request
def _limits():
    """Per client address, before any work: ``API_REQUESTS_PER_MINUTE`` (the per-token limit
    is the same number, counted once the caller is known, in ``routing``)."""
    limit = services().api_requests_per_minute
    if not services().ratelimit.hit(f"api-ip:{request.remote_addr}", limit):
        wait = 60 - int(time.time()) % 60
        raise errors.ApiError(429, "too_many_requests", f"More than {limit} requests a "
                              "minute from this address; slow down.",
                              headers={"Retry-After": str(wait)})


@bp.after_request
def _compress(response):
    """gzip for clients that accept it: on a slow link the bytes are what costs."""
    accepts = "gzip" in request.headers.get("Accept-Encoding", "").lower()
    if (not accepts or response.status_code < 200 or response.status_code in (204, 304)
            or response.direct_passthrough or "Content-Encoding" in response.headers):
        return response
    data = response.get_data()
    if len(data) < GZIP_MIN_BYTES:
        return response
    response.set_data(gzip.compress(data, compresslevel=6))
    response.headers["Content-Encoding"] = "gzip"
    response.headers.add("Vary", "Accept-Encoding")
    return response
