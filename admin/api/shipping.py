"""Delivery zones (towns and areas) with their rates, and pickup points.

Deleting one takes it off sale (``active = false``): carts and orders keep pointing at it, and
``commerce.shipping`` reads active ones only. TODO(core): commerce.shipping has no
``do_*`` to create, change or remove zones, rates and pickup points; the writes below are the
stopgap, each scoped to the caller's store.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field
from sqlalchemy import select, true
from sqlalchemy.exc import IntegrityError

from admin.api.errors import ApiError
from admin.api.pages import MAX_INT, NO_NUL, Amount, Body, Id, Page, PageQuery, paginate
from admin.api.routing import endpoint
from admin.api.store import Hours
from commerce import shipping, stores
from commerce.errors import NotFound
from commerce.models import Location, PickupPoint, ShippingRate, ShippingZone

# Not blank, and no NUL (PostgreSQL text cannot hold it): refused before it reaches SQL.
WORDS = r"^[^\x00]*[^\s\x00][^\x00]*$"  # some non-space text, no NUL
Name = Annotated[str, Field(min_length=1, max_length=80, pattern=WORDS)]
Area = Annotated[str, Field(min_length=1, max_length=80, pattern=WORDS)]
Kind = Literal["flat", "by_weight", "free_over"]


class RateOut(BaseModel):
    id: int
    zone_id: int
    name: str
    kind: Kind
    amount: int
    min_weight_grams: int
    max_weight_grams: int | None
    free_over: int | None


class ZoneOut(BaseModel):
    id: int
    name: str
    areas: list[str]
    rates: list[RateOut]


class ZonePage(Page[ZoneOut]):
    pass


class NewZone(Body):
    name: Name
    areas: list[Area] = Field(min_length=1, max_length=100, description="Towns or areas, "
                                                                        "like Kilimani.")


class ZoneChange(Body):
    name: Name | None = None
    areas: list[Area] | None = Field(None, min_length=1, max_length=100)


class NewRate(Body):
    name: Name
    kind: Kind = Field(description="flat: amount. by_weight: amount for orders weighing "
                                   "min_weight_grams to max_weight_grams. free_over: amount, "
                                   "free from free_over.")
    amount: Amount
    min_weight_grams: int = Field(0, ge=0, le=MAX_INT)
    max_weight_grams: int | None = Field(None, ge=0, le=MAX_INT)
    free_over: Amount | None = None


class RateChange(Body):
    name: Name | None = None
    kind: Kind | None = None
    amount: Amount | None = None
    min_weight_grams: int | None = Field(None, ge=0, le=MAX_INT)
    max_weight_grams: int | None = Field(None, ge=0, le=MAX_INT)
    free_over: Amount | None = None


class PointOut(BaseModel):
    id: int
    name: str
    address_text: str
    location_id: int | None
    opening_hours: dict[str, list[list[str]]] | None


class PointPage(Page[PointOut]):
    pass


class NewPoint(Body):
    name: Name
    address_text: str = Field("", max_length=300, pattern=NO_NUL)
    location_id: Id | None = Field(None, description="Where its stock sits.")
    opening_hours: Hours | None = None


class PointChange(Body):
    name: Name | None = None
    address_text: str | None = Field(None, max_length=300, pattern=NO_NUL)
    location_id: Id | None = None
    opening_hours: Hours | None = None


def rate_out(rate: ShippingRate) -> dict:
    return RateOut.model_validate(rate, from_attributes=True).model_dump(mode="json")


def zone_out(zone: ShippingZone) -> dict:
    return ZoneOut(id=zone.id, name=zone.name, areas=list(zone.areas or []),
                   rates=[RateOut.model_validate(r, from_attributes=True)
                          for r in zone.rates if r.active]).model_dump(mode="json")


def point_out(point: PickupPoint) -> dict:
    return PointOut.model_validate(point, from_attributes=True).model_dump(mode="json")


def _saved(call, row, what: str, name: str):
    """Commit; a name another active or deleted row of the store keeps is a 409."""
    model = type(row)
    with call.db.no_autoflush:  # the row's own change is not written before it is checked
        taken = call.db.scalar(select(model.id).where(
            model.store_id == call.store_id, model.name == name,
            model.id != row.id if row.id is not None else true()))
    if taken is not None:
        raise ApiError(409, "name_taken", f"This store already has a {what} called {name} "
                                          "(perhaps a deleted one): choose another name.")
    call.db.add(row)
    try:
        call.db.commit()
    except IntegrityError:  # the same name, saved by another request a moment ago
        call.db.rollback()
        raise ApiError(409, "name_taken", f"This store already has a {what} called "
                                          f"{name}.") from None
    return row


def _rate(call, rate_id: int) -> ShippingRate:
    rate = call.db.scalar(select(ShippingRate).join(
        ShippingZone, ShippingZone.id == ShippingRate.zone_id).where(
        ShippingRate.id == rate_id, ShippingRate.store_id == call.store_id,
        ShippingRate.active.is_(True), ShippingZone.active.is_(True)))
    if rate is None:
        raise ApiError(404, "not_found", "No such shipping rate in this store.")
    return rate


def _zone(call, zone_id: int) -> ShippingZone:
    try:
        return shipping.get_zone(call.db, call.store_id, zone_id)
    except NotFound:  # the core's words are for shoppers
        raise ApiError(404, "not_found", "No such shipping zone in this store.") from None


def _point(call, point_id: int) -> PickupPoint:
    try:
        return shipping.get_pickup_point(call.db, call.store_id, point_id)
    except NotFound:
        raise ApiError(404, "not_found", "No such pickup point in this store.") from None


def _check_rate(rate: ShippingRate) -> None:
    """Each kind uses its own fields: none left over to mislead whoever reads the rate."""
    problem = None
    if rate.kind == "by_weight":
        if rate.max_weight_grams is not None and rate.max_weight_grams < rate.min_weight_grams:
            problem = "max_weight_grams must be at least min_weight_grams."
    elif rate.min_weight_grams or rate.max_weight_grams is not None:
        problem = "Weights apply to by_weight rates only."
    if rate.kind == "free_over" and rate.free_over is None:
        problem = "A free_over rate needs free_over: the order value it is free from."
    elif rate.kind != "free_over" and rate.free_over is not None:
        problem = "free_over applies to free_over rates only."
    if problem:
        raise ApiError(422, "invalid_rate", problem)


def _location_id(call, location_id: int | None) -> int | None:
    if location_id is not None and call.db.scalar(select(Location.id).where(
            Location.id == location_id, Location.store_id == call.store_id)) is None:
        raise ApiError(404, "not_found", "No such location in this store.")
    return location_id


def _hours(hours):
    try:
        return stores.check_opening_hours(hours)
    except stores.InvalidStore as error:
        raise ApiError(422, "invalid_opening_hours", error.message) from None


def _areas(areas: list[str]) -> list[str]:
    """Spaces tidied, each once (the body's pattern already refused blank ones)."""
    return list(dict.fromkeys(" ".join(a.split()) for a in areas))


# -- zones and their rates ----------------------------------------------------------------------
@endpoint("GET", "/shipping-zones", "shipping:read", summary="List delivery zones",
          tag="shipping", query=PageQuery, response=ZonePage)
def list_zones(call):
    return paginate(call.db, select(ShippingZone).where(
        ShippingZone.store_id == call.store_id, ShippingZone.active.is_(True)),
        ShippingZone.id, call.query, zone_out)


@endpoint("POST", "/shipping-zones", "shipping:write", summary="Add a delivery zone",
          tag="shipping", body=NewZone, response=ZoneOut, status=201)
def create_zone(call):
    name = call.body.name.strip()
    zone = ShippingZone(store_id=call.store_id, name=name, areas=_areas(call.body.areas),
                        rates=[])
    return zone_out(_saved(call, zone, "shipping zone", name))


@endpoint("GET", "/shipping-zones/<int:zone_id>", "shipping:read", summary="One delivery zone",
          tag="shipping", response=ZoneOut)
def get_zone(call, zone_id: int):
    return zone_out(_zone(call, zone_id))


@endpoint("PATCH", "/shipping-zones/<int:zone_id>", "shipping:write",
          summary="Rename a zone or change its areas", tag="shipping", body=ZoneChange,
          response=ZoneOut)
def change_zone(call, zone_id: int):
    zone, body = _zone(call, zone_id), call.body
    if body.areas is not None:
        zone.areas = _areas(body.areas)
    if body.name is not None:
        zone.name = body.name.strip()
    return zone_out(_saved(call, zone, "shipping zone", zone.name))


@endpoint("DELETE", "/shipping-zones/<int:zone_id>", "shipping:write",
          summary="Stop delivering to a zone", tag="shipping", response=None, status=204)
def delete_zone(call, zone_id: int):
    _zone(call, zone_id).active = False
    call.db.commit()


@endpoint("POST", "/shipping-zones/<int:zone_id>/rates", "shipping:write",
          summary="Add a rate to a zone", tag="shipping", body=NewRate, response=RateOut,
          status=201)
def create_rate(call, zone_id: int):
    zone = _zone(call, zone_id)
    rate = ShippingRate(store_id=call.store_id, zone_id=zone.id,
                        **call.body.model_dump(exclude={"name"}), name=call.body.name.strip())
    _check_rate(rate)
    call.db.add(rate)
    call.db.commit()
    return rate_out(rate)


@endpoint("PATCH", "/shipping-rates/<int:rate_id>", "shipping:write",
          summary="Change a shipping rate", tag="shipping", body=RateChange, response=RateOut)
def change_rate(call, rate_id: int):
    rate, body = _rate(call, rate_id), call.body
    for name in body.model_fields_set:
        value = getattr(body, name)
        if value is None and name not in ("max_weight_grams", "free_over"):
            continue  # null means "as it is", except where null is a value
        setattr(rate, name, value.strip() if name == "name" else value)
    _check_rate(rate)
    call.db.commit()
    return rate_out(rate)


@endpoint("DELETE", "/shipping-rates/<int:rate_id>", "shipping:write",
          summary="Remove a shipping rate", tag="shipping", response=None, status=204)
def delete_rate(call, rate_id: int):
    _rate(call, rate_id).active = False
    call.db.commit()


# -- pickup points ------------------------------------------------------------------------------
@endpoint("GET", "/pickup-points", "shipping:read", summary="List pickup points",
          tag="shipping", query=PageQuery, response=PointPage)
def list_points(call):
    return paginate(call.db, select(PickupPoint).where(
        PickupPoint.store_id == call.store_id, PickupPoint.active.is_(True)),
        PickupPoint.id, call.query, point_out)


@endpoint("POST", "/pickup-points", "shipping:write", summary="Add a pickup point",
          tag="shipping", body=NewPoint, response=PointOut, status=201)
def create_point(call):
    body = call.body
    point = PickupPoint(store_id=call.store_id, name=body.name.strip(),
                        address_text=" ".join(body.address_text.split()),
                        location_id=_location_id(call, body.location_id),
                        opening_hours=_hours(body.opening_hours))
    return point_out(_saved(call, point, "pickup point", point.name))


@endpoint("GET", "/pickup-points/<int:point_id>", "shipping:read", summary="One pickup point",
          tag="shipping", response=PointOut)
def get_point(call, point_id: int):
    return point_out(_point(call, point_id))


@endpoint("PATCH", "/pickup-points/<int:point_id>", "shipping:write",
          summary="Change a pickup point", tag="shipping", body=PointChange, response=PointOut)
def change_point(call, point_id: int):
    point, body = _point(call, point_id), call.body
    sent = body.model_fields_set
    if "location_id" in sent:  # null unlinks it from a location
        point.location_id = _location_id(call, body.location_id)
    if "opening_hours" in sent:  # null: open whenever the store is
        point.opening_hours = _hours(body.opening_hours)
    if body.address_text is not None:
        point.address_text = " ".join(body.address_text.split())
    if body.name is not None:
        point.name = body.name.strip()
    return point_out(_saved(call, point, "pickup point", point.name))


@endpoint("DELETE", "/pickup-points/<int:point_id>", "shipping:write",
          summary="Stop offering a pickup point", tag="shipping", response=None, status=204)
def delete_point(call, point_id: int):
    _point(call, point_id).active = False
    call.db.commit()
