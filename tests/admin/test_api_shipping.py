"""Delivery zones, their rates, and pickup points."""
from sqlalchemy import func, select

from commerce import shipping
from commerce.models import Location, PickupPoint, ShippingRate, ShippingZone
from tests.admin.conftest import add_staff, bearer, error_of

ZONES, RATES, POINTS = "/api/v1/shipping-zones", "/api/v1/shipping-rates", "/api/v1/pickup-points"


def rows(db):
    """Everything shipping, as the database has it now."""
    db.expire_all()
    return ([(z.id, z.name, z.areas, z.active) for z in db.scalars(
                select(ShippingZone).order_by(ShippingZone.id))],
            [(r.id, r.zone_id, r.name, r.kind, r.amount, r.min_weight_grams,
              r.max_weight_grams, r.free_over, r.active)
             for r in db.scalars(select(ShippingRate).order_by(ShippingRate.id))],
            [(p.id, p.name, p.address_text, p.location_id, p.opening_hours, p.active)
             for p in db.scalars(select(PickupPoint).order_by(PickupPoint.id))])


def demo_zone(db, store):
    return shipping.list_zones(db, store.id)[0]


def test_the_demo_zone_and_pickup_point_are_listed(api, db, store, owner):
    zone = demo_zone(db, store)
    [point] = shipping.list_pickup_points(db, store.id)
    assert api.get(ZONES, headers=owner).get_json() == {"items": [{
        "id": zone.id, "name": "Nairobi West",
        "areas": ["kawangware", "kilimani", "lavington", "kileleshwa", "westlands",
                  "dagoretti"],
        "rates": [{"id": zone.rates[0].id, "zone_id": zone.id, "name": "Boda delivery",
                   "kind": "free_over", "amount": 10000, "min_weight_grams": 0,
                   "max_weight_grams": None, "free_over": 200000}]}], "next_cursor": None}
    assert api.get(POINTS, headers=owner).get_json() == {"items": [{
        "id": point.id, "name": "Kawangware shop",
        "address_text": "Kawangware stage 56, next to the chemist",
        "location_id": point.location_id, "opening_hours": None}], "next_cursor": None}


def test_a_zone_with_rates_is_made_changed_and_quoted_at_checkout(api, db, store, owner):
    made = api.post(ZONES, headers=owner, json={"name": " Kiambu ",
                                                "areas": ["Ruaka", " Kiambu  town", "Ruaka"]})
    assert made.status_code == 201
    zone = made.get_json()
    assert {k: zone[k] for k in ("name", "areas", "rates")} == {
        "name": "Kiambu", "areas": ["Ruaka", "Kiambu town"], "rates": []}
    light = api.post(f"{ZONES}/{zone['id']}/rates", headers=owner, json={
        "name": "Light parcels", "kind": "by_weight", "amount": 20000,
        "min_weight_grams": 0, "max_weight_grams": 5000})
    heavy = api.post(f"{ZONES}/{zone['id']}/rates", headers=owner, json={
        "name": "Pick-up truck", "kind": "flat", "amount": 50000})
    assert (light.status_code, heavy.status_code) == (201, 201)
    assert {k: v for k, v in light.get_json().items() if k != "id"} == {
        "zone_id": zone["id"], "name": "Light parcels", "kind": "by_weight", "amount": 20000,
        "min_weight_grams": 0, "max_weight_grams": 5000, "free_over": None}
    assert shipping.quote(db, store, zone["id"], 3000, 100) == 20000
    assert shipping.quote(db, store, zone["id"], 9000, 100) == 50000

    changed = api.patch(f"{RATES}/{light.get_json()['id']}", headers=owner,
                        json={"amount": 15000, "max_weight_grams": None})
    assert (changed.get_json()["amount"], changed.get_json()["max_weight_grams"]) == \
        (15000, None)
    assert shipping.quote(db, store, zone["id"], 9000, 100) == 15000
    renamed = api.patch(f"{ZONES}/{zone['id']}", headers=owner,
                        json={"name": "Kiambu County", "areas": ["Ruaka"]})
    assert renamed.status_code == 200
    assert (renamed.get_json()["name"], renamed.get_json()["areas"],
            len(renamed.get_json()["rates"])) == ("Kiambu County", ["Ruaka"], 2)
    assert shipping.zone_for_area(db, store.id, "ruaka").id == zone["id"]

    assert api.delete(f"{RATES}/{heavy.get_json()['id']}", headers=owner).status_code == 204
    assert [r["name"] for r in api.get(f"{ZONES}/{zone['id']}",
                                       headers=owner).get_json()["rates"]] == ["Light parcels"]
    assert error_of(api.delete(f"{RATES}/{heavy.get_json()['id']}", headers=owner)) == \
        (404, "not_found")


def test_a_deleted_zone_is_gone_from_the_list_and_from_checkout(api, db, store, owner):
    zone = demo_zone(db, store)
    assert api.delete(f"{ZONES}/{zone.id}", headers=owner).status_code == 204
    assert api.get(ZONES, headers=owner).get_json()["items"] == []
    assert error_of(api.get(f"{ZONES}/{zone.id}", headers=owner)) == (404, "not_found")
    assert shipping.list_zones(db, store.id) == []
    assert error_of(api.patch(f"{RATES}/{zone.rates[0].id}", headers=owner,
                              json={"amount": 1})) == (404, "not_found")
    # Its name stays taken: orders still name the zone.
    answer = api.post(ZONES, headers=owner, json={"name": "Nairobi West", "areas": ["x"]})
    assert error_of(answer) == (409, "name_taken")


def test_rates_keep_to_their_kind(api, db, store, owner):
    zone = demo_zone(db, store)
    rate_id = zone.rates[0].id
    before = rows(db)
    cases = [
        ({"name": "Odd", "kind": "free_over", "amount": 100}, "A free_over rate needs "
         "free_over: the order value it is free from."),
        ({"name": "Odd", "kind": "flat", "amount": 100, "free_over": 5},
         "free_over applies to free_over rates only."),
        ({"name": "Odd", "kind": "flat", "amount": 100, "max_weight_grams": 5},
         "Weights apply to by_weight rates only."),
        ({"name": "Odd", "kind": "by_weight", "amount": 100, "min_weight_grams": 500,
          "max_weight_grams": 100}, "max_weight_grams must be at least min_weight_grams."),
    ]
    for body, message in cases:
        answer = api.post(f"{ZONES}/{zone.id}/rates", headers=owner, json=body)
        assert error_of(answer) == (422, "invalid_rate") and \
            answer.get_json()["error"]["message"] == message, body
    # A change is checked with what it leaves: free_over cannot be dropped from its rate.
    answer = api.patch(f"{RATES}/{rate_id}", headers=owner, json={"free_over": None})
    assert error_of(answer) == (422, "invalid_rate")
    answer = api.patch(f"{RATES}/{rate_id}", headers=owner, json={"kind": "flat"})
    assert error_of(answer) == (422, "invalid_rate")
    assert rows(db) == before
    flat = api.patch(f"{RATES}/{rate_id}", headers=owner,
                     json={"kind": "flat", "free_over": None})
    assert (flat.get_json()["kind"], flat.get_json()["free_over"]) == ("flat", None)


def test_pickup_points_are_made_changed_and_removed(api, db, store, owner):
    shop = db.scalar(select(Location).where(Location.store_id == store.id))
    made = api.post(POINTS, headers=owner, json={
        "name": "Kilimani kiosk", "address_text": " Argwings Kodhek Rd,  by the Total ",
        "location_id": shop.id,
        "opening_hours": {"sat": [["09:00", "13:00"]], "mon": [["08:00", "18:00"]]}})
    assert made.status_code == 201
    point = made.get_json()
    assert {k: v for k, v in point.items() if k != "id"} == {
        "name": "Kilimani kiosk", "address_text": "Argwings Kodhek Rd, by the Total",
        "location_id": shop.id,
        "opening_hours": {"mon": [["08:00", "18:00"]], "sat": [["09:00", "13:00"]]}}
    changed = api.patch(f"{POINTS}/{point['id']}", headers=owner,
                        json={"location_id": None, "opening_hours": None, "name": "Kiosk"})
    assert {k: changed.get_json()[k] for k in ("name", "location_id", "opening_hours")} == {
        "name": "Kiosk", "location_id": None, "opening_hours": None}
    assert error_of(api.patch(f"{POINTS}/{point['id']}", headers=owner,
                              json={"name": "Kawangware shop"})) == (409, "name_taken")
    assert error_of(api.patch(f"{POINTS}/{point['id']}", headers=owner, json={
        "opening_hours": {"mon": [["18:00", "08:00"]]}})) == (422, "invalid_opening_hours")
    assert api.delete(f"{POINTS}/{point['id']}", headers=owner).status_code == 204
    assert [p.name for p in shipping.list_pickup_points(db, store.id)] == ["Kawangware shop"]
    assert error_of(api.get(f"{POINTS}/{point['id']}", headers=owner)) == (404, "not_found")


def test_bad_input_is_refused_and_changes_nothing(api, db, store, owner):
    zone = demo_zone(db, store)
    before = rows(db)
    cases = [
        (ZONES, {"name": "X"}, (422, "invalid_body")),  # no areas
        (ZONES, {"name": "X", "areas": []}, (422, "invalid_body")),
        (ZONES, {"name": "X", "areas": ["  "]}, (422, "invalid_body")),
        (ZONES, {"name": "   ", "areas": ["a"]}, (422, "invalid_body")),
        (ZONES, {"name": "X", "areas": "Ruaka"}, (422, "invalid_body")),
        (ZONES, {"name": "X", "areas": ["a"], "active": False}, (422, "invalid_body")),
        (ZONES, {"name": "Nairobi West", "areas": ["a"]}, (409, "name_taken")),
        (f"{ZONES}/{zone.id}/rates", {"name": "R", "kind": "flat", "amount": -100},
         (422, "invalid_body")),
        (f"{ZONES}/{zone.id}/rates", {"name": "R", "kind": "flat", "amount": "100"},
         (422, "invalid_body")),
        (f"{ZONES}/{zone.id}/rates", {"name": "R", "kind": "flat", "amount": 2**31},
         (422, "invalid_body")),
        (f"{ZONES}/{zone.id}/rates", {"name": "R", "kind": "teleport", "amount": 1},
         (422, "invalid_body")),
        (f"{ZONES}/{zone.id}/rates", {"name": "R", "amount": 1}, (422, "invalid_body")),
        (f"{ZONES}/999999/rates", {"name": "R", "kind": "flat", "amount": 1},
         (404, "not_found")),
        (POINTS, {"name": "P", "location_id": 999999}, (404, "not_found")),
        (POINTS, {"name": "P", "location_id": 0}, (422, "invalid_body")),
        (POINTS, {"name": "P", "opening_hours": {"mon": [["25:00", "26:00"]]}},
         (422, "invalid_body")),
        (POINTS, {"address_text": "no name"}, (422, "invalid_body")),
    ]
    for path, body, expected in cases:
        assert error_of(api.post(path, headers=owner, json=body)) == expected, (path, body)
    assert rows(db) == before


def test_a_viewer_and_counter_staff_read_but_cannot_change_shipping(app, api, db, store):
    zone = demo_zone(db, store)
    before = rows(db)
    for role, phone in (("viewer", "+254711222444"), ("staff", "+254711222555")):
        headers = bearer(app, add_staff(db, store, phone, role=role))
        assert api.get(ZONES, headers=headers).status_code == 200
        for answer in (api.post(ZONES, headers=headers, json={"name": "X", "areas": ["x"]}),
                       api.patch(f"{ZONES}/{zone.id}", headers=headers, json={"name": "Y"}),
                       api.delete(f"{ZONES}/{zone.id}", headers=headers),
                       api.delete(f"{RATES}/{zone.rates[0].id}", headers=headers)):
            assert error_of(answer) == (403, "forbidden")
    assert rows(db) == before


def test_another_stores_shipping_is_out_of_reach(api, db, store, owner, other_store,
                                                 other_owner):
    zone = api.post(ZONES, headers=other_owner, json={"name": "Mombasa",
                                                      "areas": ["Nyali"]}).get_json()
    rate = api.post(f"{ZONES}/{zone['id']}/rates", headers=other_owner, json={
        "name": "Tuk-tuk", "kind": "flat", "amount": 15000}).get_json()
    point = api.post(POINTS, headers=other_owner, json={"name": "Nyali stall"}).get_json()
    before = rows(db)
    assert [z["name"] for z in api.get(ZONES, headers=owner).get_json()["items"]] == \
        ["Nairobi West"]
    assert [p["name"] for p in api.get(POINTS, headers=owner).get_json()["items"]] == \
        ["Kawangware shop"]
    attempts = [
        api.get(f"{ZONES}/{zone['id']}", headers=owner),
        api.patch(f"{ZONES}/{zone['id']}", headers=owner, json={"name": "Mine"}),
        api.delete(f"{ZONES}/{zone['id']}", headers=owner),
        api.post(f"{ZONES}/{zone['id']}/rates", headers=owner,
                 json={"name": "Sneaky", "kind": "flat", "amount": 0}),
        api.patch(f"{RATES}/{rate['id']}", headers=owner, json={"amount": 0}),
        api.delete(f"{RATES}/{rate['id']}", headers=owner),
        api.get(f"{POINTS}/{point['id']}", headers=owner),
        api.patch(f"{POINTS}/{point['id']}", headers=owner, json={"name": "Mine"}),
        api.delete(f"{POINTS}/{point['id']}", headers=owner),
    ]
    for answer in attempts:
        assert error_of(answer) == (404, "not_found")
    # Nor can a pickup point of mine be tied to their location.
    theirs = Location(store_id=other_store.id, name="Juma's duka")
    db.add(theirs)
    db.commit()
    answer = api.post(POINTS, headers=owner, json={"name": "Sneaky", "location_id": theirs.id})
    assert error_of(answer) == (404, "not_found")
    assert rows(db) == before
    assert db.scalar(select(func.count(ShippingZone.id)).where(
        ShippingZone.store_id == other_store.id, ShippingZone.active.is_(True))) == 1
    # The same names are free in each store.
    assert api.post(ZONES, headers=owner, json={"name": "Mombasa",
                                                "areas": ["Nyali"]}).status_code == 201
