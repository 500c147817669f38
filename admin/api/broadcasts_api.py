"""Broadcasts: one message from the merchant to a segment of customers (by language, last order,
spend) who agreed to marketing and did not STOP, sent at the merchant's pace, once per person.

Choosing the people, pacing and sending live in the channels (``channels.broadcasts``), handed
in by ``create_app`` (see ``templates_api.CHANNELS``: admin may not import channels).

A broadcast being sent can be cancelled: nobody it has not reached yet gets it.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from admin.api.errors import ApiError
from admin.api.pages import NO_NUL, Amount, Body, Page, PageQuery, Query, paginate
from admin.api.routing import endpoint
from admin.api.templates_api import channels



def _plausible(day: date) -> date:
    # A last-order date far outside any shop's life would only overflow the timezone maths.
    if not date(2000, 1, 1) <= day <= date(2100, 1, 1):
        raise ValueError("must be between 2000 and 2100")
    return day


Since = Annotated[date, AfterValidator(_plausible)]
Locale = Annotated[str, Field(min_length=1, max_length=10, pattern=NO_NUL)]


class Segment(Body):
    """Who gets it, among the customers who agreed to marketing; no field: all of them."""

    locale: Locale | None = Field(None, description="One of the store's languages (customers "
                                                    "who never chose one read the default).")
    ordered_since: Since | None = Field(None, description="Ordered (and paid) on this day or "
                                                          "later, in the store's timezone.")
    min_spent: Amount | None = Field(None, description="Spent at least this much in all, in "
                                                       "minor units (paid orders).")


class NewBroadcast(Body):
    body: str = Field(description="The message: 1 to 480 characters (three SMS parts).")
    segment: Segment = Field(default_factory=Segment)
    per_minute: int = Field(60, description="Messages a minute, 1 to 6000.")


class SegmentQuery(Query):
    locale: Locale | None = None
    ordered_since: Since | None = None
    min_spent: Amount | None = None


class SegmentOut(BaseModel):
    locale: str | None = None
    ordered_since: date | None = None
    min_spent: int | None = None


class BroadcastOut(BaseModel):
    id: int
    body: str
    segment: SegmentOut
    per_minute: int
    status: str = Field(description="sending; done once nobody is left to send to; or "
                                    "cancelled.")
    recipients: int = Field(description="Consenting customers in the segment when it was "
                                        "created.")
    pending: int = Field(description="Not sent to yet.")
    sent: int = Field(description="Messages handed to the SMS or WhatsApp provider.")
    delivered: int = Field(description="Confirmed delivered by the provider.")
    failed: int = Field(description="Refused or undeliverable.")
    opted_out: int = Field(description="Skipped: sent STOP or withdrew consent before their "
                                       "turn.")
    cancelled: int = Field(description="Not sent to because the broadcast was cancelled.")
    created_at: datetime
    finished_at: datetime | None


class BroadcastPage(Page[BroadcastOut]):
    pass


class BroadcastQuery(PageQuery):
    status: str | None = Field(None, max_length=12, pattern=NO_NUL,
                               description="sending, done or cancelled.")


class Preview(BaseModel):
    recipients: int = Field(description="How many customers the segment reaches now.")
    segment: SegmentOut


def _counts(call, broadcast_ids: list[int]) -> dict[int, dict]:
    return channels().broadcasts.delivery_counts(call.db, call.store, broadcast_ids)


def _out(broadcast, counts: dict) -> dict:
    return BroadcastOut(
        id=broadcast.id, body=broadcast.body, segment=SegmentOut(**(broadcast.segment or {})),
        per_minute=broadcast.per_minute, status=broadcast.status,
        recipients=broadcast.recipients, sent=broadcast.sent, created_at=broadcast.created_at,
        finished_at=broadcast.finished_at, **counts).model_dump(mode="json")


def broadcast_out(call, broadcast) -> dict:
    return _out(broadcast, _counts(call, [broadcast.id])[broadcast.id])


def _broadcast(call, broadcast_id: int):
    broadcast = channels().broadcasts.get_broadcast(call.db, call.store, broadcast_id)
    if broadcast is None:
        raise ApiError(404, "not_found", "No such broadcast in this store.")
    return broadcast


@endpoint("GET", "/broadcasts", "messages:read", summary="List broadcasts", tag="broadcasts",
          query=BroadcastQuery, response=BroadcastPage)
def list_broadcasts(call):
    core = channels()
    statement = core.broadcasts.list_broadcasts(call.db, call.store, call.query.status)
    page = paginate(call.db, statement, core.models.Broadcast.id, call.query, lambda row: row)
    counts = _counts(call, [row.id for row in page["items"]])
    return {**page, "items": [_out(row, counts[row.id]) for row in page["items"]]}


@endpoint("POST", "/broadcasts", "messages:write",
          summary="Send a message to a segment of consenting customers", tag="broadcasts",
          body=NewBroadcast, response=BroadcastOut, status=201)
def create_broadcast(call):
    body = call.body
    segment = body.segment.model_dump(mode="json", exclude_none=True)
    broadcast = channels().broadcasts.do_create_broadcast(call.db, call.store, body.body,
                                                          segment, body.per_minute)
    call.db.refresh(broadcast)  # without Redis it has been sent already, by another session
    return broadcast_out(call, broadcast)


@endpoint("GET", "/broadcasts/preview", "messages:read",
          summary="How many customers a segment reaches, before sending", tag="broadcasts",
          query=SegmentQuery, response=Preview)
def preview_broadcast(call):
    core = channels().broadcasts
    segment = core.check_segment(call.query.model_dump(mode="json", exclude_none=True),
                                 call.store)
    people = core.segment_customers(call.db, call.store, segment)
    return Preview(recipients=len(people), segment=SegmentOut(**segment)).model_dump(mode="json")


@endpoint("GET", "/broadcasts/<int:broadcast_id>", "messages:read",
          summary="One broadcast and how far it got", tag="broadcasts", response=BroadcastOut)
def get_broadcast(call, broadcast_id: int):
    return broadcast_out(call, _broadcast(call, broadcast_id))


@endpoint("POST", "/broadcasts/<int:broadcast_id>/cancel", "messages:write",
          summary="Stop a broadcast: nobody it has not reached yet gets it (409 once it has "
                  "been sent to everyone)", tag="broadcasts", response=BroadcastOut)
def cancel_broadcast(call, broadcast_id: int):
    broadcast = channels().broadcasts.do_cancel_broadcast(call.db, call.store,
                                                          _broadcast(call, broadcast_id))
    return broadcast_out(call, broadcast)
