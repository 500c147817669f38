"""The store itself: its name, languages, time zone, contact phone, opening hours, tax,
whether it takes cash on delivery, and the numbers that steer checkout (reservation minutes,
low stock threshold...)."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from admin.api.pages import NO_NUL, Body
from admin.api.routing import endpoint
from commerce import stores
from commerce.stores import SUPPORTED_LOCALES

Locale = Literal[SUPPORTED_LOCALES]
Day = Literal[stores.DAYS]
Clock = Annotated[str, Field(max_length=5, pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$",
                             description="24-hour clock, like 08:00; 24:00 only to close.")]
Period = Annotated[list[Clock], Field(min_length=2, max_length=2,
                                      description="[opens, closes]")]
Hours = dict[Day, Annotated[list[Period], Field(max_length=12)]]


CASH = ("Whether shoppers may pay cash on delivery (or at pickup). Off: only the enabled "
        "payment gateways are offered at checkout.")


class StoreOut(BaseModel):
    id: int
    slug: str
    name: str
    currency: str
    country: str
    default_locale: str
    locales: list[str]
    timezone: str
    contact_phone: str | None
    opening_hours: dict[str, list[list[str]]] | None = Field(
        description="Per day, [opens, closes] pairs in the store's time zone; a missing day "
                    "is closed; null: always open.")
    tax_rate_bp: int = Field(description="Basis points: 1600 = 16 %.")
    prices_include_tax: bool
    accepts_cash: bool = Field(description=CASH)
    reservation_minutes: int
    abandoned_cart_minutes: int
    low_stock_threshold: int
    created_at: datetime


def _bounded(name: str, description: str):
    low, high = stores.NUMBER_SETTINGS[name]
    return Field(None, ge=low, le=high, description=description)


class StoreChange(Body):
    """Only the fields sent change; all of them or none (a bad one changes nothing)."""

    name: str | None = Field(None, min_length=1, max_length=120, pattern=NO_NUL)
    default_locale: Locale | None = None
    locales: list[Locale] | None = Field(None, min_length=1, max_length=len(SUPPORTED_LOCALES))
    timezone: str | None = Field(None, min_length=1, max_length=60, pattern=NO_NUL,
                                 description="IANA time zone, like Africa/Nairobi.")
    contact_phone: str | None = Field(None, max_length=20, pattern=NO_NUL,
                                      description="null or \"\" removes it.")
    opening_hours: Hours | None = Field(None, description="null: always open.")
    tax_rate_bp: int | None = _bounded("tax_rate_bp", "Basis points: 1600 = 16 %.")
    prices_include_tax: bool | None = None
    # Not "bool | None": null is refused, not taken as "unchanged" (leave it out for that).
    accepts_cash: bool = Field(None, description=CASH)
    reservation_minutes: int | None = _bounded(
        "reservation_minutes", "How long checkout holds stock for a shopper.")
    abandoned_cart_minutes: int | None = _bounded(
        "abandoned_cart_minutes", "Idle minutes before a cart counts as abandoned.")
    low_stock_threshold: int | None = _bounded(
        "low_stock_threshold", "Units on hand at or below which a variant is low on stock.")


NULLABLE = {"contact_phone", "opening_hours"}  # null is a value for these, not "unchanged"


def store_out(store) -> dict:
    return StoreOut(
        id=store.id, slug=store.slug, name=store.name, currency=store.currency,
        country=store.country, default_locale=store.default_locale, locales=store.locale_list,
        timezone=store.timezone, contact_phone=store.contact_phone,
        opening_hours=store.opening_hours, tax_rate_bp=store.tax_rate_bp,
        prices_include_tax=store.prices_include_tax, accepts_cash=store.accepts_cash,
        reservation_minutes=store.reservation_minutes,
        abandoned_cart_minutes=store.abandoned_cart_minutes,
        low_stock_threshold=store.low_stock_threshold, created_at=store.created_at,
    ).model_dump(mode="json")


@endpoint("GET", "/store", "store:read", summary="The store's settings", tag="store",
          response=StoreOut)
def get_store(call):
    return store_out(call.store)


@endpoint("PATCH", "/store", "store:write", summary="Change the store's settings", tag="store",
          body=StoreChange, response=StoreOut)
def change_store(call):
    body = call.body
    sent = {name: getattr(body, name) for name in body.model_fields_set
            if getattr(body, name) is not None or name in NULLABLE}
    return store_out(stores.do_update_store_details(call.db, call.store, **sent))
