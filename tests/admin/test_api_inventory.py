"""Stock levels, adjustments and their audit trail, and locations, through commerce.inventory."""
from sqlalchemy import func, select

from commerce import inventory
from commerce.models import Location, Product, Stock, StockMovement, Variant
from tests.admin.conftest import OWNER_PHONE, add_staff, bearer, error_of, staff_row
from tests.helpers import events_named, on_hand, variant_by_sku


def shop(db, store):
    return db.scalar(select(Location).where(Location.store_id == store.id))


def movement_count(db):
    db.expire_all()
    return db.scalar(select(func.count(StockMovement.id)))


def juma_stock(db, other_store):
    """Duka ya Juma: one location, one product (Unga 2kg), 12 on hand."""
    location = Location(store_id=other_store.id, name="Juma's duka")
    product = Product(store_id=other_store.id, name="Unga")
    db.add_all([location, product])
    db.flush()
    variant = Variant(store_id=other_store.id, product_id=product.id, sku="UNGA-2KG",
                      name="2kg", price=15000)
    db.add(variant)
    db.flush()
    stock = Stock(store_id=other_store.id, variant_id=variant.id, location_id=location.id,
                  quantity=12)
    db.add(stock)
    db.commit()
    return location, variant, stock


def test_locations_are_listed(api, db, store, owner):
    answer = api.get("/api/v1/locations", headers=owner)
    assert answer.get_json() == {"items": [
        {"id": shop(db, store).id, "name": "Kawangware shop", "kind": "shop", "position": 0,
         "active": True}], "next_cursor": None}


def test_a_level_per_variant_per_location(api, db, store, owner):
    tomatoes = variant_by_sku(db, store, "TOMA-1KG")
    location = shop(db, store)
    answer = api.get(f"/api/v1/inventory-levels?variant_id={tomatoes.id}", headers=owner)
    stock_id = db.scalar(select(Stock.id).where(Stock.variant_id == tomatoes.id))
    level = {"id": stock_id, "variant_id": tomatoes.id, "sku": "TOMA-1KG",
             "title": "Tomatoes 1kg", "location_id": location.id,
             "location_name": "Kawangware shop", "on_hand": 80, "reserved": 0,
             "available": 80, "low_stock_threshold": 5, "low": False}
    assert answer.get_json() == {"items": [level], "next_cursor": None}
    assert api.get(f"/api/v1/inventory-levels/{stock_id}", headers=owner).get_json() == level
    everything = api.get(f"/api/v1/inventory-levels?location_id={location.id}&limit=100",
                         headers=owner).get_json()["items"]
    assert len(everything) == 38  # every demo variant has a level at the shop


def test_low_lists_levels_at_or_below_the_threshold(api, db, store, owner):
    low = api.get("/api/v1/inventory-levels?low=true", headers=owner).get_json()["items"]
    assert sorted((item["sku"], item["on_hand"]) for item in low) == [
        ("MANA-BUNC", 3), ("PINE", 0), ("SUGA-1KG", 4), ("YOGH-500M", 0)]
    # A variant's own threshold wins over the store's.
    eggs = variant_by_sku(db, store, "EGGS-TRAY-OF-30")
    eggs.low_stock_threshold = 20
    db.commit()
    low = api.get("/api/v1/inventory-levels?low=true", headers=owner).get_json()["items"]
    assert {"sku": "EGGS-TRAY-OF-30", "on_hand": 15, "low_stock_threshold": 20} in [
        {k: item[k] for k in ("sku", "on_hand", "low_stock_threshold")} for item in low]
    not_low = api.get("/api/v1/inventory-levels?low=false&limit=100",
                      headers=owner).get_json()["items"]
    assert len(not_low) == 38 - 5 and not any(item["low"] for item in not_low)


def test_an_adjustment_adds_units_with_a_reason_and_is_in_the_trail(api, db, store, owner):
    tomatoes, location = variant_by_sku(db, store, "TOMA-1KG"), shop(db, store)
    me = staff_row(db, store, OWNER_PHONE)
    answer = api.post("/api/v1/inventory-levels/adjust", headers=owner, json={
        "variant_id": tomatoes.id, "location_id": location.id, "delta": 10,
        "reason": "received", "note": " delivery from Wakulima "})
    assert answer.status_code == 200
    body = answer.get_json()
    assert {k: body["level"][k] for k in ("on_hand", "reserved", "available", "low")} == {
        "on_hand": 90, "reserved": 0, "available": 90, "low": False}
    movement = body["movement"]
    assert {k: v for k, v in movement.items() if k not in ("id", "created_at")} == {
        "stock_id": body["level"]["id"], "variant_id": tomatoes.id,
        "location_id": location.id, "delta": 10, "quantity_after": 90,
        "reason": "received", "note": "delivery from Wakulima", "actor": f"staff:{me.id}",
        "order_id": None}
    assert on_hand(db, "TOMA-1KG") == 90
    trail = api.get(f"/api/v1/inventory-movements?variant_id={tomatoes.id}",
                    headers=owner).get_json()
    assert trail == {"items": [movement], "next_cursor": None}
    assert api.get("/api/v1/inventory-movements?reason=sold",
                   headers=owner).get_json()["items"] == []


def test_removing_down_to_the_threshold_records_low_stock(api, db, store, owner):
    carrots = variant_by_sku(db, store, "CARR-1KG")  # 35 on hand, threshold 5
    answer = api.post("/api/v1/inventory-levels/adjust", headers=owner, json={
        "variant_id": carrots.id, "location_id": shop(db, store).id, "delta": -30,
        "reason": "damaged"})
    assert answer.get_json()["level"]["low"] is True
    assert events_named(db, "inventory.low_stock") == [
        {"variant_id": carrots.id, "sku": "CARR-1KG", "on_hand": 5, "threshold": 5}]


def test_a_count_sets_units_on_hand(api, db, store, owner):
    onions, location = variant_by_sku(db, store, "ONIO-1KG"), shop(db, store)
    answer = api.post("/api/v1/inventory-levels/set", headers=owner, json={
        "variant_id": onions.id, "location_id": location.id, "quantity": 64})
    body = answer.get_json()
    assert answer.status_code == 200 and body["level"]["on_hand"] == 64
    assert (body["movement"]["delta"], body["movement"]["quantity_after"],
            body["movement"]["reason"]) == (-6, 64, "correction")
    before = movement_count(db)
    again = api.post("/api/v1/inventory-levels/set", headers=owner, json={
        "variant_id": onions.id, "location_id": location.id, "quantity": 64,
        "reason": "received"})
    assert again.status_code == 200 and again.get_json()["movement"] is None
    assert movement_count(db) == before and on_hand(db, "ONIO-1KG") == 64


def test_units_held_by_checkouts_cannot_be_taken_away(api, db, store, owner):
    from commerce import carts, checkout
    from commerce.customers import get_or_create_customer

    managu, location = variant_by_sku(db, store, "MANA-BUNC"), shop(db, store)  # 3 on hand
    customer = get_or_create_customer(db, store, "+254712345678")
    carts.do_add_to_cart(db, store, customer.id, managu.id, 2)
    checkout.do_start_checkout(db, store, customer.id)  # holds 2
    before = movement_count(db)
    for path, body in (("adjust", {"delta": -2, "reason": "damaged"}),
                       ("set", {"quantity": 1})):
        answer = api.post(f"/api/v1/inventory-levels/{path}", headers=owner, json={
            "variant_id": managu.id, "location_id": location.id, **body})
        assert error_of(answer) == (409, "out_of_stock"), path
    assert movement_count(db) == before and on_hand(db, "MANA-BUNC") == 3
    level = api.get(f"/api/v1/inventory-levels?variant_id={managu.id}",
                    headers=owner).get_json()["items"][0]
    assert (level["on_hand"], level["reserved"], level["available"]) == (3, 2, 1)


def test_bad_adjustments_are_refused_and_change_nothing(api, db, store, owner):
    tomatoes, location = variant_by_sku(db, store, "TOMA-1KG"), shop(db, store)
    good = {"variant_id": tomatoes.id, "location_id": location.id, "delta": 5,
            "reason": "received"}
    before = movement_count(db)
    cases = [
        ("adjust", {**good, "delta": 0}, (422, "invalid_quantity")),
        ("adjust", {**good, "delta": "5"}, (422, "invalid_body")),
        ("adjust", {**good, "delta": 1.5}, (422, "invalid_body")),
        ("adjust", {**good, "delta": 10**7}, (422, "invalid_body")),
        ("adjust", {**good, "reason": "stolen"}, (422, "invalid_body")),
        ("adjust", {**good, "colour": "red"}, (422, "invalid_body")),
        ("adjust", {k: v for k, v in good.items() if k != "location_id"},
         (422, "invalid_body")),
        ("adjust", {**good, "variant_id": 2**31}, (422, "invalid_body")),
        ("adjust", {**good, "variant_id": 999_999}, (404, "not_found")),
        ("adjust", {**good, "note": "x" * 201}, (422, "invalid_body")),
        ("set", {**good, "delta": None}, (422, "invalid_body")),
        ("set", {"variant_id": tomatoes.id, "location_id": location.id, "quantity": -1},
         (422, "invalid_body")),
        ("set", {"variant_id": tomatoes.id, "location_id": 999_999, "quantity": 1},
         (404, "not_found")),
    ]
    for path, body, expected in cases:
        answer = api.post(f"/api/v1/inventory-levels/{path}", headers=owner, json=body)
        assert error_of(answer) == expected, body
    assert error_of(api.get("/api/v1/inventory-levels?low=maybe", headers=owner)) == \
        (422, "invalid_query")
    assert movement_count(db) == before and on_hand(db, "TOMA-1KG") == 80


def test_who_may_adjust(app, api, db, store):
    tomatoes, location = variant_by_sku(db, store, "TOMA-1KG"), shop(db, store)
    body = {"variant_id": tomatoes.id, "location_id": location.id, "delta": 1,
            "reason": "received"}
    viewer = bearer(app, add_staff(db, store, "+254711222444", role="viewer"))
    counter = bearer(app, add_staff(db, store, "+254711222555", role="staff"))
    assert api.get("/api/v1/inventory-levels", headers=viewer).status_code == 200
    answer = api.post("/api/v1/inventory-levels/adjust", headers=viewer, json=body)
    assert error_of(answer) == (403, "forbidden")
    assert on_hand(db, "TOMA-1KG") == 80
    assert api.post("/api/v1/inventory-levels/adjust", headers=counter,
                    json=body).status_code == 200
    assert on_hand(db, "TOMA-1KG") == 81


def test_another_stores_stock_is_out_of_reach(api, db, store, owner, other_store,
                                              other_owner):
    location, unga, stock = juma_stock(db, other_store)
    inventory.do_adjust_stock(db, other_store, unga.id, location.id, 3, "received")
    before = movement_count(db)
    mine = shop(db, store)
    assert error_of(api.get(f"/api/v1/inventory-levels/{stock.id}", headers=owner)) == \
        (404, "not_found")
    for query in (f"variant_id={unga.id}", f"location_id={location.id}"):
        assert api.get(f"/api/v1/inventory-levels?{query}",
                       headers=owner).get_json()["items"] == []
        assert api.get(f"/api/v1/inventory-movements?{query}",
                       headers=owner).get_json()["items"] == []
    listed = api.get("/api/v1/inventory-levels?limit=100", headers=owner).get_json()["items"]
    assert stock.id not in {level["id"] for level in listed}
    assert [loc["id"] for loc in api.get("/api/v1/locations",
                                         headers=owner).get_json()["items"]] == [mine.id]
    assert api.get("/api/v1/inventory-movements", headers=owner).get_json()["items"] == []
    for path, body in (("adjust", {"delta": -5, "reason": "damaged"}),
                       ("set", {"quantity": 0})):
        for variant_id, location_id in ((unga.id, location.id), (unga.id, mine.id),
                                        (variant_by_sku(db, store, "TOMA-1KG").id,
                                         location.id)):
            answer = api.post(f"/api/v1/inventory-levels/{path}", headers=owner, json={
                "variant_id": variant_id, "location_id": location_id, **body})
            assert error_of(answer) == (404, "not_found"), (path, variant_id, location_id)
    assert movement_count(db) == before
    db.expire_all()
    assert db.get(Stock, stock.id).quantity == 15
    assert db.scalar(select(func.count(Stock.id)).where(Stock.store_id == other_store.id)) == 1
    # And the other way round: Juma sees his own, not Mama Mboga's.
    theirs = api.get("/api/v1/inventory-levels", headers=other_owner).get_json()["items"]
    assert [(level["sku"], level["on_hand"]) for level in theirs] == [("UNGA-2KG", 15)]
