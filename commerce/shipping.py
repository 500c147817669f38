"""Shipping: zones by region or town, their rates, pickup points, and tracking lookup."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from commerce.errors import DomainError, NotFound
from commerce.models import Fulfilment, Order, PickupPoint, ShippingZone, Store


class NoShippingRate(DomainError):
    code = "no_shipping_rate"


def list_zones(session: Session, store_id: int) -> list[ShippingZone]:
    return list(session.scalars(
        select(ShippingZone).where(ShippingZone.store_id == store_id,
                                   ShippingZone.active.is_(True)).order_by(ShippingZone.name)))


def get_zone(session: Session, store_id: int, zone_id: int) -> ShippingZone:
    zone = session.scalar(select(ShippingZone).where(
        ShippingZone.id == zone_id, ShippingZone.store_id == store_id,
        ShippingZone.active.is_(True)))
    if zone is None:
        raise NotFound("We do not deliver to that area.")
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
    prices = []
    for rate in zone.rates:
        if not rate.active:
            continue
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
        raise NoShippingRate(f"We cannot deliver this order to {zone.name}.")
    return min(prices)


def list_pickup_points(session: Session, store_id: int) -> list[PickupPoint]:
    return list(session.scalars(
        select(PickupPoint).where(PickupPoint.store_id == store_id,
                                  PickupPoint.active.is_(True)).order_by(PickupPoint.name)))


def get_pickup_point(session: Session, store_id: int, pickup_point_id: int) -> PickupPoint:
    point = session.scalar(select(PickupPoint).where(
        PickupPoint.id == pickup_point_id, PickupPoint.store_id == store_id,
        PickupPoint.active.is_(True)))
    if point is None:
        raise NotFound("That pickup point is not available.")
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
