"""Shipping: zones by region or town, their rates, pickup points, and tracking lookup.

Shoppers' readers (``list_zones``, ``get_zone``, ``quote``, ``list_pickup_points``...) see active
rows only. Merchant changes are ``check_*`` then ``do_*`` (which commit); deleting a zone, rate
or pickup point takes it off sale (``active = false``): carts and orders keep pointing at it,
and its name stays taken. Another store's ids are simply not found.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from commerce import db, stores
from commerce.catalog import UNCHANGED
from commerce.errors import N_, DomainError, NotFound
from commerce.models import (
    Fulfilment, Location, Order, PickupPoint, ShippingRate, ShippingZone, Store,
)

RATE_KINDS = ("flat", "by_weight", "free_over")
MAX_NAME = 80
MAX_AREAS = 100
MAX_ADDRESS = 300
MAX_AMOUNT = 2**31 - 1  # amounts and weights are 32-bit integer columns on PostgreSQL


class NoShippingRate(DomainError):
    code = "no_shipping_rate"


class InvalidZone(DomainError):
    code = "invalid_zone"


class InvalidRate(DomainError):
    code = "invalid_rate"


class InvalidPickupPoint(DomainError):
    code = "invalid_pickup_point"


class InvalidOpeningHours(DomainError):
    code = "invalid_opening_hours"


class NameTaken(DomainError):
    """Another zone (or pickup point) of the store has the name, perhaps a deleted one."""

    code = "name_taken"


def list_zones(session: Session, store_id: int) -> list[ShippingZone]:
    return list(session.scalars(
        select(ShippingZone).where(ShippingZone.store_id == store_id,
                                   ShippingZone.active.is_(True)).order_by(ShippingZone.name)))


def get_zone(session: Session, store_id: int, zone_id: int) -> ShippingZone:
    zone = session.scalar(select(ShippingZone).where(
        ShippingZone.id == zone_id, ShippingZone.store_id == store_id,
        ShippingZone.active.is_(True)))
    if zone is None:
        raise NotFound(N_("We do not deliver to that area."))
    return zone


def zone_for_area(session: Session, store_id: int, area: str) -> ShippingZone | None:
    """The zone serving a town or region, matched without regard to case or spacing."""
    wanted = " ".join(area.lower().split())
    for zone in list_zones(session, store_id):
        if wanted in {" ".join(a.lower().split()) for a in zone.areas}:
            return zone
    return None


def quote(session: Session, store: Store, zone_id: int, weight_grams: int,
          order_value: int) -> int:
    """The cheapest delivery charge (minor units) the zone's rates give for this order."""
    zone = get_zone(session, store.id, zone_id)
    return cheapest_rate(zone.name, [rate for rate in zone.rates if rate.active], weight_grams,
                         order_value)


def cheapest_rate(zone_name: str, rates, weight_grams: int, order_value: int) -> int:
    """The cheapest charge ``rates`` (a zone's active ones, rows or storefront views) give."""
    prices = []
    for rate in rates:
        if rate.kind == "flat":
            prices.append(rate.amount)
        elif rate.kind == "by_weight":
            too_heavy = rate.max_weight_grams is not None and weight_grams > rate.max_weight_grams
            if rate.min_weight_grams <= weight_grams and not too_heavy:
                prices.append(rate.amount)
        elif rate.kind == "free_over":
            free = rate.free_over is not None and order_value >= rate.free_over
            prices.append(0 if free else rate.amount)
    if not prices:
        raise NoShippingRate(N_("We cannot deliver this order to {area}."),
                             values={"area": zone_name})
    return min(prices)


def list_pickup_points(session: Session, store_id: int) -> list[PickupPoint]:
    return list(session.scalars(
        select(PickupPoint).where(PickupPoint.store_id == store_id,
                                  PickupPoint.active.is_(True)).order_by(PickupPoint.name)))


_OPEN_PICKUP_POINT = select(PickupPoint).where(  # built once: every pickup checkout reads it
    PickupPoint.id == bindparam("id"), PickupPoint.store_id == bindparam("store_id"),
    PickupPoint.active.is_(True))


def get_pickup_point(session: Session, store_id: int, pickup_point_id: int) -> PickupPoint:
    point = session.scalar(_OPEN_PICKUP_POINT, {"id": pickup_point_id, "store_id": store_id})
    if point is None:
        raise NotFound(N_("That pickup point is not available."))
    return point


def track(session: Session, store_id: int, tracking_number: str) -> tuple[Order, Fulfilment]:
    """The order and shipment a tracking number belongs to, within one store."""
    fulfilment = session.scalar(select(Fulfilment).where(
        Fulfilment.store_id == store_id, Fulfilment.tracking_number == tracking_number.strip()))
    if fulfilment is None:
        raise NotFound("No shipment has that tracking number.")
    order = session.scalar(select(Order).where(Order.id == fulfilment.order_id,
                                               Order.store_id == store_id))
    return order, fulfilment


# -- the merchant's view: active rows, in the merchant's words ----------------------------------
def find_zone(session: Session, store_id: int, zone_id: int) -> ShippingZone:
    try:
        return get_zone(session, store_id, zone_id)
    except NotFound:  # get_zone's words are for shoppers
        raise NotFound("No such shipping zone in this store.") from None


def find_rate(session: Session, store_id: int, rate_id: int) -> ShippingRate:
    """An active rate of one of the store's active zones."""
    rate = session.scalar(select(ShippingRate).join(
        ShippingZone, ShippingZone.id == ShippingRate.zone_id).where(
        ShippingRate.id == rate_id, ShippingRate.store_id == store_id,
        ShippingRate.active.is_(True), ShippingZone.active.is_(True)))
    if rate is None:
        raise NotFound("No such shipping rate in this store.")
    return rate


def find_pickup_point(session: Session, store_id: int, point_id: int) -> PickupPoint:
    try:
        return get_pickup_point(session, store_id, point_id)
    except NotFound:
        raise NotFound("No such pickup point in this store.") from None


# -- checks -------------------------------------------------------------------------------------
def _tidy(value: object, what: str, max_length: int, error: type[DomainError],
          required: bool = True, runs: bool = False) -> str:
    """Text stripped (and with ``runs``, each run of spaces made one); refused if not text,
    too long or (when ``required``) blank."""
    if not isinstance(value, str) or "\x00" in value:
        raise error(f"{what} must be text.")
    value = " ".join(value.split()) if runs else value.strip()
    if required and not value:
        raise error(f"{what} cannot be empty.")
    if len(value) > max_length:
        raise error(f"{what} must be at most {max_length} characters.")
    return value


def check_zone_name(name: object) -> str:
    return _tidy(name, "A zone's name", MAX_NAME, InvalidZone)


def check_areas(areas: object) -> list[str]:
    """Towns or areas, spaces tidied, each once, in the order given."""
    if isinstance(areas, str) or not isinstance(areas, Sequence):
        raise InvalidZone("Give a zone's areas as a list, like [\"Kilimani\"].")
    tidied = list(dict.fromkeys(_tidy(area, "An area", MAX_NAME, InvalidZone, runs=True)
                                for area in areas))
    if not 1 <= len(tidied) <= MAX_AREAS:
        raise InvalidZone(f"A zone has 1 to {MAX_AREAS} areas.")
    return tidied


def _check_whole(value: object, what: str, error: type[DomainError],
                 nullable: bool = False) -> int | None:
    if value is None and nullable:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_AMOUNT:
        raise error(f"{what} must be a whole number from 0 to {MAX_AMOUNT}.")
    return value


def check_rate(name: object, kind: object, amount: object, min_weight_grams: object = 0,
               max_weight_grams: object = None, free_over: object = None) -> dict:
    """A rate's fields, checked together: each kind uses its own fields, none left over to
    mislead whoever reads the rate. Column values, ready to set."""
    if kind not in RATE_KINDS:
        raise InvalidRate(f"A rate's kind is one of {', '.join(RATE_KINDS)}.")
    rate = {"name": _tidy(name, "A rate's name", MAX_NAME, InvalidRate), "kind": kind,
            "amount": _check_whole(amount, "amount", InvalidRate),
            "min_weight_grams": _check_whole(min_weight_grams, "min_weight_grams",
                                             InvalidRate),
            "max_weight_grams": _check_whole(max_weight_grams, "max_weight_grams",
                                             InvalidRate, nullable=True),
            "free_over": _check_whole(free_over, "free_over", InvalidRate, nullable=True)}
    problem = None
    if kind == "by_weight":
        if (rate["max_weight_grams"] is not None
                and rate["max_weight_grams"] < rate["min_weight_grams"]):
            problem = "max_weight_grams must be at least min_weight_grams."
    elif rate["min_weight_grams"] or rate["max_weight_grams"] is not None:
        problem = "Weights apply to by_weight rates only."
    if kind == "free_over" and rate["free_over"] is None:
        problem = "A free_over rate needs free_over: the order value it is free from."
    elif kind != "free_over" and rate["free_over"] is not None:
        problem = "free_over applies to free_over rates only."
    if problem:
        raise InvalidRate(problem)
    return rate


def check_point_name(name: object) -> str:
    return _tidy(name, "A pickup point's name", MAX_NAME, InvalidPickupPoint)


def check_address_text(address_text: object) -> str:
    return _tidy(address_text, "The address", MAX_ADDRESS, InvalidPickupPoint, required=False,
                 runs=True)


def check_location(session: Session, store_id: int, location_id: int | None) -> int | None:
    """A location of this store (where the pickup point's stock sits), or None."""
    if location_id is not None and session.scalar(select(Location.id).where(
            Location.id == location_id, Location.store_id == store_id)) is None:
        raise NotFound("No such location in this store.")
    return location_id


def check_point_hours(hours: dict | None) -> dict | None:
    """As a store's opening hours (``stores.check_opening_hours``); None: whenever the store
    is open."""
    try:
        return stores.check_opening_hours(hours)
    except stores.InvalidStore as error:
        raise InvalidOpeningHours(error.message) from None


_KIND_NAMES = {ShippingZone: "shipping zone", PickupPoint: "pickup point"}


def check_name_free(session: Session, model: type[ShippingZone] | type[PickupPoint],
                    store_id: int, name: str, row_id: int | None = None) -> None:
    """No other zone (or pickup point) of the store has the name: not even a deleted one,
    whose name orders still show."""
    with session.no_autoflush:  # a change being checked is not written before it is checked
        taken = session.scalar(select(model.id).where(
            model.store_id == store_id, model.name == name,
            *([model.id != row_id] if row_id is not None else [])))
    if taken is not None:
        raise NameTaken(f"This store already has a {_KIND_NAMES[model]} called {name} "
                        "(perhaps a deleted one): choose another name.")


@contextmanager
def _committing(session: Session, model: type, name: str) -> Iterator[None]:
    """``commerce.db.committing``; the same name saved by another request a moment ago (the
    unique constraint) is ``NameTaken``."""
    try:
        with db.committing(session):
            yield
    except IntegrityError:
        raise NameTaken(f"This store already has a {_KIND_NAMES[model]} called "
                        f"{name}.") from None


# -- zones --------------------------------------------------------------------------------------
def do_create_zone(session: Session, store: Store, name: str,
                   areas: Sequence[str]) -> ShippingZone:
    name, areas = check_zone_name(name), check_areas(areas)
    check_name_free(session, ShippingZone, store.id, name)
    with _committing(session, ShippingZone, name):
        zone = ShippingZone(store_id=store.id, name=name, areas=areas, rates=[])
        session.add(zone)
    return zone


def do_update_zone(session: Session, store: Store, zone_id: int, *, name: Any = UNCHANGED,
                   areas: Any = UNCHANGED) -> ShippingZone:
    """Rename a zone or replace its areas; what is not given stays."""
    zone = find_zone(session, store.id, zone_id)
    changes: dict[str, Any] = {}
    if areas is not UNCHANGED:
        changes["areas"] = check_areas(areas)
    if name is not UNCHANGED:
        changes["name"] = check_zone_name(name)
        check_name_free(session, ShippingZone, store.id, changes["name"], zone.id)
    with _committing(session, ShippingZone, changes.get("name", zone.name)):
        for attribute, value in changes.items():
            setattr(zone, attribute, value)
    return zone


def do_delete_zone(session: Session, store: Store, zone_id: int) -> None:
    """Stop delivering there: off sale with its rates; orders keep naming it."""
    zone = find_zone(session, store.id, zone_id)
    with db.committing(session):
        zone.active = False


# -- rates --------------------------------------------------------------------------------------
def do_create_rate(session: Session, store: Store, zone_id: int, name: str, kind: str,
                   amount: int, min_weight_grams: int = 0, max_weight_grams: int | None = None,
                   free_over: int | None = None) -> ShippingRate:
    zone = find_zone(session, store.id, zone_id)
    fields = check_rate(name, kind, amount, min_weight_grams, max_weight_grams, free_over)
    with db.committing(session):
        rate = ShippingRate(store_id=store.id, zone_id=zone.id, **fields)
        session.add(rate)
    return rate


_RATE_FIELDS = ("name", "kind", "amount", "min_weight_grams", "max_weight_grams", "free_over")


def do_update_rate(session: Session, store: Store, rate_id: int, **changes: Any) -> ShippingRate:
    """Change some of a rate's fields (``name``, ``kind``, ``amount``, ``min_weight_grams``,
    ``max_weight_grams``, ``free_over``); the rate is checked with what the change leaves, so
    a kind cannot keep another kind's fields."""
    rate = find_rate(session, store.id, rate_id)
    unknown = set(changes) - set(_RATE_FIELDS)
    if unknown:
        raise InvalidRate(f"A rate has no {', '.join(sorted(unknown))}.")
    fields = check_rate(**{name: changes.get(name, getattr(rate, name))
                           for name in _RATE_FIELDS})
    with db.committing(session):
        for attribute, value in fields.items():
            setattr(rate, attribute, value)
    return rate


def do_delete_rate(session: Session, store: Store, rate_id: int) -> None:
    rate = find_rate(session, store.id, rate_id)
    with db.committing(session):
        rate.active = False


# -- pickup points ------------------------------------------------------------------------------
def do_create_pickup_point(session: Session, store: Store, name: str, address_text: str = "",
                           location_id: int | None = None,
                           opening_hours: dict | None = None) -> PickupPoint:
    name = check_point_name(name)
    address_text = check_address_text(address_text)
    location_id = check_location(session, store.id, location_id)
    opening_hours = check_point_hours(opening_hours)
    check_name_free(session, PickupPoint, store.id, name)
    with _committing(session, PickupPoint, name):
        point = PickupPoint(store_id=store.id, name=name, address_text=address_text,
                            location_id=location_id, opening_hours=opening_hours)
        session.add(point)
    return point


def do_update_pickup_point(session: Session, store: Store, point_id: int, *,
                           name: Any = UNCHANGED, address_text: Any = UNCHANGED,
                           location_id: Any = UNCHANGED,
                           opening_hours: Any = UNCHANGED) -> PickupPoint:
    """Change what is given; ``location_id=None`` unlinks it from a location and
    ``opening_hours=None`` opens it whenever the store is."""
    point = find_pickup_point(session, store.id, point_id)
    changes: dict[str, Any] = {}
    if location_id is not UNCHANGED:
        changes["location_id"] = check_location(session, store.id, location_id)
    if opening_hours is not UNCHANGED:
        changes["opening_hours"] = check_point_hours(opening_hours)
    if address_text is not UNCHANGED:
        changes["address_text"] = check_address_text(address_text)
    if name is not UNCHANGED:
        changes["name"] = check_point_name(name)
        check_name_free(session, PickupPoint, store.id, changes["name"], point.id)
    with _committing(session, PickupPoint, changes.get("name", point.name)):
        for attribute, value in changes.items():
            setattr(point, attribute, value)
    return point


def do_delete_pickup_point(session: Session, store: Store, point_id: int) -> None:
    point = find_pickup_point(session, store.id, point_id)
    with db.committing(session):
        point.active = False
