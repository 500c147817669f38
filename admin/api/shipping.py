"""Delivery zones (towns and areas) with their rates, and pickup points.

Every change is one ``commerce.shipping`` ``do_*`` call (it checks, then commits). Deleting one
takes it off sale (``active = false``): carts and orders keep pointing at it, its name stays
taken, and ``commerce.shipping`` reads active ones only.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field
from sqlalchemy import select

from admin.api.pages import MAX_INT, NO_NUL, Amount, Body, Id, Page, PageQuery, paginate
from admin.api.routing import endpoint
from admin.api.store import Hours
from commerce import shipping
from commerce.models import PickupPoint, ShippingRate, ShippingZone

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


def _changes(body: Body, nullable: tuple[str, ...] = ()) -> dict:
    """The fields a PATCH sent; a null means "as it is", except where null is a value."""
    return {name: getattr(body, name) for name in body.model_fields_set
            if getattr(body, name) is not None or name in nullable}


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
    return zone_out(shipping.do_create_zone(call.db, call.store, call.body.name,
                                            call.body.areas))


@endpoint("GET", "/shipping-zones/<int:zone_id>", "shipping:read", summary="One delivery zone",
          tag="shipping", response=ZoneOut)
def get_zone(call, zone_id: int):
    return zone_out(shipping.find_zone(call.db, call.store_id, zone_id))


@endpoint("PATCH", "/shipping-zones/<int:zone_id>", "shipping:write",
          summary="Rename a zone or change its areas", tag="shipping", body=ZoneChange,
          response=ZoneOut)
def change_zone(call, zone_id: int):
    return zone_out(shipping.do_update_zone(call.db, call.store, zone_id,
                                            **_changes(call.body)))


@endpoint("DELETE", "/shipping-zones/<int:zone_id>", "shipping:write",
          summary="Stop delivering to a zone", tag="shipping", response=None, status=204)
def delete_zone(call, zone_id: int):
    shipping.do_delete_zone(call.db, call.store, zone_id)


@endpoint("POST", "/shipping-zones/<int:zone_id>/rates", "shipping:write",
          summary="Add a rate to a zone", tag="shipping", body=NewRate, response=RateOut,
          status=201)
def create_rate(call, zone_id: int):
    return rate_out(shipping.do_create_rate(call.db, call.store, zone_id,
                                            **call.body.model_dump()))


@endpoint("PATCH", "/shipping-rates/<int:rate_id>", "shipping:write",
          summary="Change a shipping rate", tag="shipping", body=RateChange, response=RateOut)
def change_rate(call, rate_id: int):
    return rate_out(shipping.do_update_rate(
        call.db, call.store, rate_id, **_changes(call.body, ("max_weight_grams", "free_over"))))


@endpoint("DELETE", "/shipping-rates/<int:rate_id>", "shipping:write",
          summary="Remove a shipping rate", tag="shipping", response=None, status=204)
def delete_rate(call, rate_id: int):
    shipping.do_delete_rate(call.db, call.store, rate_id)


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
    return point_out(shipping.do_create_pickup_point(call.db, call.store,
                                                     **call.body.model_dump()))


@endpoint("GET", "/pickup-points/<int:point_id>", "shipping:read", summary="One pickup point",
          tag="shipping", response=PointOut)
def get_point(call, point_id: int):
    return point_out(shipping.find_pickup_point(call.db, call.store_id, point_id))


@endpoint("PATCH", "/pickup-points/<int:point_id>", "shipping:write",
          summary="Change a pickup point", tag="shipping", body=PointChange, response=PointOut)
def change_point(call, point_id: int):
    # null unlinks it from a location, and opens it whenever the store is
    return point_out(shipping.do_update_pickup_point(
        call.db, call.store, point_id, **_changes(call.body, ("location_id", "opening_hours"))))


@endpoint("DELETE", "/pickup-points/<int:point_id>", "shipping:write",
          summary="Stop offering a pickup point", tag="shipping", response=None, status=204)
def delete_point(call, point_id: int):
    shipping.do_delete_pickup_point(call.db, call.store, point_id)