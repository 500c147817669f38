"""A merchant's delivery zones, rates and pickup points as services: ``check_*`` refuse with a
domain error and change nothing, ``do_*`` change and commit, deleting takes off sale."""
import pytest
from sqlalchemy import select

from commerce import shipping
from commerce.errors import NotFound
from commerce.models import Location, PickupPoint, ShippingRate, ShippingZone
from commerce.shipping import InvalidOpeningHours, InvalidRate, InvalidZone, NameTaken
from commerce.stores import do_create_store


def rows(db):
    db.expire_all()
    return ([(z.id, z.name, z.areas, z.active) for z in db.scalars(
                select(ShippingZone).order_by(ShippingZone.id))],
            [(r.id, r.zone_id, r.name, r.kind, r.amount, r.min_weight_grams,
              r.max_weight_grams, r.free_over, r.active)
             for r in db.scalars(select(ShippingRate).order_by(ShippingRate.id))],
            [(p.id, p.name, p.address_text, p.location_id, p.opening_hours, p.active)
             for p in db.scalars(select(PickupPoint).order_by(PickupPoint.id))])


@pytest.fixture
def other(db):
    return do_create_store(db, "duka-ya-juma", "Duka ya Juma", "KES", "KE", "en", "en",
                           "Africa/Nairobi")


def test_a_zone_is_made_renamed_and_taken_off_sale(db, store):
    zone = shipping.do_create_zone(db, store, "  Kiambu  County ",
                                   [" Ruaka", "Kiambu   town", "Ruaka "])
    db.expire_all()
    assert (zone.store_id, zone.name, zone.areas, zone.active, zone.rates) == \
        (store.id, "Kiambu  County", ["Ruaka", "Kiambu town"], True, [])

    shipping.do_update_zone(db, store, zone.id, areas=["Limuru"])
    db.expire_all()
    assert (zone.name, zone.areas) == ("Kiambu  County", ["Limuru"])
    shipping.do_update_zone(db, store, zone.id, name="Kiambu")
    assert shipping.zone_for_area(db, store.id, "limuru").name == "Kiambu"

    shipping.do_delete_zone(db, store, zone.id)
    assert [z.name for z in shipping.list_zones(db, store.id)] == ["Nairobi West"]
    with pytest.raises(NotFound) as missing:
        shipping.find_zone(db, store.id, zone.id)
    assert missing.value.message == "No such shipping zone in this store."
    with pytest.raises(NameTaken) as taken:  # orders still name it
        shipping.do_create_zone(db, store, "Kiambu", ["Ruaka"])
    assert taken.value.message == ("This store already has a shipping zone called Kiambu "
                                   "(perhaps a deleted one): choose another name.")


@pytest.mark.parametrize("name, areas", [("", ["a"]), ("   ", ["a"]), ("x" * 81, ["a"]),
                                         ("Zone", []), ("Zone", ["  "]), ("Zone", "Ruaka"),
                                         ("Zone", [f"a{n}" for n in range(101)]),
                                         (5, ["a"])])
def test_a_bad_zone_is_refused_and_changes_nothing(db, store, name, areas):
    before = rows(db)
    with pytest.raises(InvalidZone):
        shipping.do_create_zone(db, store, name, areas)
    assert rows(db) == before


def test_rates_are_checked_with_what_a_change_leaves(db, store):
    zone = shipping.list_zones(db, store.id)[0]
    light = shipping.do_create_rate(db, store, zone.id, " Light parcels ", "by_weight", 20000,
                                    max_weight_grams=5000)
    assert (light.name, light.kind, light.amount, light.min_weight_grams,
            light.max_weight_grams, light.free_over) == \
        ("Light parcels", "by_weight", 20000, 0, 5000, None)
    before = rows(db)
    cases = [
        (dict(kind="flat"), "Weights apply to by_weight rates only."),
        (dict(min_weight_grams=6000), "max_weight_grams must be at least min_weight_grams."),
        (dict(kind="free_over", max_weight_grams=None),
         "A free_over rate needs free_over: the order value it is free from."),
        (dict(free_over=100), "free_over applies to free_over rates only."),
        (dict(amount=-1), "amount must be a whole number from 0 to 2147483647."),
        (dict(amount=True), "amount must be a whole number from 0 to 2147483647."),
        (dict(kind="teleport"), "A rate's kind is one of flat, by_weight, free_over."),
        (dict(colour="red"), "A rate has no colour."),
    ]
    for changes, message in cases:
        with pytest.raises(InvalidRate) as refused:
            shipping.do_update_rate(db, store, light.id, **changes)
        assert refused.value.message == message, changes
    assert rows(db) == before

    flat = shipping.do_update_rate(db, store, light.id, kind="flat", max_weight_grams=None,
                                   amount=15000)
    assert (flat.kind, flat.amount, flat.max_weight_grams) == ("flat", 15000, None)
    assert shipping.quote(db, store, zone.id, 9000, 100) == 10000  # the demo's boda is cheaper
    shipping.do_delete_rate(db, store, light.id)
    with pytest.raises(NotFound):
        shipping.find_rate(db, store.id, light.id)


def test_a_rate_of_a_deleted_zone_is_out_of_reach(db, store):
    zone = shipping.list_zones(db, store.id)[0]
    rate_id = zone.rates[0].id
    shipping.do_delete_zone(db, store, zone.id)
    with pytest.raises(NotFound) as missing:
        shipping.do_update_rate(db, store, rate_id, amount=1)
    assert missing.value.message == "No such shipping rate in this store."
    with pytest.raises(NotFound):
        shipping.do_create_rate(db, store, zone.id, "New", "flat", 100)


def test_pickup_points_are_made_changed_and_taken_off_sale(db, store):
    shop = db.scalar(select(Location).where(Location.store_id == store.id))
    point = shipping.do_create_pickup_point(
        db, store, " Kilimani kiosk ", address_text=" Argwings Kodhek Rd,  by the Total ",
        location_id=shop.id, opening_hours={"sat": [["09:00", "13:00"]],
                                            "mon": [["08:00", "18:00"]]})
    assert (point.name, point.address_text, point.location_id, point.opening_hours) == (
        "Kilimani kiosk", "Argwings Kodhek Rd, by the Total", shop.id,
        {"mon": [["08:00", "18:00"]], "sat": [["09:00", "13:00"]]})

    shipping.do_update_pickup_point(db, store, point.id, location_id=None, opening_hours=None)
    db.expire_all()
    assert (point.name, point.location_id, point.opening_hours) == ("Kilimani kiosk", None, None)
    before = rows(db)
    with pytest.raises(NameTaken):
        shipping.do_update_pickup_point(db, store, point.id, name="Kawangware shop")
    with pytest.raises(InvalidOpeningHours) as hours:
        shipping.do_update_pickup_point(db, store, point.id, name="Kiosk",
                                        opening_hours={"mon": [["18:00", "08:00"]]})
    assert hours.value.message == "On mon, 18:00 to 08:00 closes before it opens."
    assert rows(db) == before

    shipping.do_delete_pickup_point(db, store, point.id)
    assert [p.name for p in shipping.list_pickup_points(db, store.id)] == ["Kawangware shop"]
    with pytest.raises(NotFound) as missing:
        shipping.find_pickup_point(db, store.id, point.id)
    assert missing.value.message == "No such pickup point in this store."


def test_another_stores_zones_rates_points_and_locations_are_out_of_reach(db, store, other):
    zone = shipping.list_zones(db, store.id)[0]
    [point] = shipping.list_pickup_points(db, store.id)
    theirs = Location(store_id=other.id, name="Juma's duka")
    db.add(theirs)
    db.commit()
    before = rows(db)
    attempts = [
        lambda: shipping.do_update_zone(db, other, zone.id, name="Mine"),
        lambda: shipping.do_delete_zone(db, other, zone.id),
        lambda: shipping.do_create_rate(db, other, zone.id, "Sneaky", "flat", 0),
        lambda: shipping.do_update_rate(db, other, zone.rates[0].id, amount=0),
        lambda: shipping.do_delete_rate(db, other, zone.rates[0].id),
        lambda: shipping.do_update_pickup_point(db, other, point.id, name="Mine"),
        lambda: shipping.do_delete_pickup_point(db, other, point.id),
        lambda: shipping.do_create_pickup_point(db, store, "Sneaky", location_id=theirs.id),
    ]
    for attempt in attempts:
        with pytest.raises(NotFound):
            attempt()
    assert rows(db) == before
    # Names are per store.
    assert shipping.do_create_zone(db, other, "Nairobi West", ["Nyali"]).store_id == other.id
