"""Offline sync: a mobile app's catalog catching up, and a cart edited offline merged back by
the documented rule (last write per line wins, a tie goes to the server; stock and price are
always the server's)."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

import commerce.db
from commerce import carts, catalog
from commerce.catalog import VariantInput
from commerce.customers import find_customer_by_phone
from commerce.models import Cart, CartLine, Customer, Variant
from tests.admin.conftest import add_staff, bearer
from tests.helpers import variant_by_sku

CART = "/api/v1/sync/cart"
CATALOG = "/api/v1/sync/catalog"
PHONE = "+254712345678"
DAY = datetime(2025, 3, 1, tzinfo=timezone.utc)


def at(clock: str) -> datetime:
    hours, minutes = clock.split(":")
    return DAY.replace(hour=int(hours), minute=int(minutes))


def iso(clock: str) -> str:
    return at(clock).isoformat().replace("+00:00", "Z")


class Clock:
    now = DAY


@pytest.fixture
def clock(monkeypatch):
    """The server's clock: ``commerce.db.utcnow``, which the services, the sync and the
    models' own times (a cart line's ``updated_at``) all read."""
    clock = Clock()

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return clock.now

    monkeypatch.setattr(commerce.db, "datetime", Frozen)
    assert commerce.db.utcnow() == DAY
    return clock


def ids(db, store, *skus) -> list[int]:
    return [variant_by_sku(db, store, sku).id for sku in skus]


def line(variant_id, title, quantity, price, available) -> dict:
    return {"variant_id": variant_id, "title": title, "quantity": quantity,
            "unit_price": price, "total": price * quantity, "available": available}


def conflict(variant_id, reason, client, server, field="quantity") -> dict:
    return {"variant_id": variant_id, "field": field, "reason": reason, "client_value": client,
            "server_value": server}


def cart_lines(db, store, phone=PHONE) -> dict[str, int]:
    db.expire_all()
    customer = find_customer_by_phone(db, store, phone)
    cart = carts.get_active_cart(db, store.id, customer.id) if customer else None
    return {ln.variant.sku: ln.quantity for ln in cart.lines} if cart else {}


def other_variant(db, other_store) -> Variant:
    product = catalog.do_create_product(db, other_store, "Chapati", variants=[
        VariantInput(sku="CHAP", price=2000)])
    return product.variants[0]


# -- the cart -----------------------------------------------------------------------------------
def test_an_offline_session_with_conflicting_edits_is_merged_by_the_rule(
        api, db, store, other_store, owner, clock):
    suku, toma, onio, mana, pine, eggs = ids(db, store, "SUKU-WIKI-BUNC", "TOMA-1KG",
                                             "ONIO-1KG", "MANA-BUNC", "PINE", "EGGS-TRAY-OF-30")
    theirs = other_variant(db, other_store).id

    # 09:00 The app's first sync: two lines added while it was offline.
    clock.now = at("09:00")
    first = api.post(CART, headers=owner, json={
        "client_id": "pos-1", "phone": "0712 345678", "last_sync": None, "local_changes": [
            {"op": "add", "variant_id": toma, "quantity": 2, "at": iso("08:58"),
             "seen_price": 12000},
            {"op": "add", "variant_id": onio, "quantity": 1, "at": iso("08:59")}]})
    assert first.status_code == 200, first.get_json()
    cart_id = first.get_json()["server_changes"]["cart_id"]
    assert first.get_json() == {
        "client_id": "pos-1", "new_sync_timestamp": "2025-03-01T09:00:00Z", "conflicts": [],
        "server_changes": {"cart_id": cart_id, "currency": "KES", "subtotal": 34000,
                           "item_count": 3, "lines": [
                               line(toma, "Tomatoes 1kg", 2, 12000, 80),
                               line(onio, "Onions 1kg", 1, 10000, 70)]}}

    # 09:20 Meanwhile on the server: the shopper makes it 4 onions by USSD, and the merchant
    # puts tomatoes up to KSh 130.
    clock.now = at("09:20")
    customer = find_customer_by_phone(db, store, PHONE)
    carts.do_set_quantity(db, store, customer.id, onio, 4)
    catalog.do_update_variant(db, store, toma, price=13000)

    # 09:30 The app comes back online with what was done offline (sent in no order).
    clock.now = at("09:30")
    offline = {"client_id": "pos-1", "phone": PHONE, "last_sync": "2025-03-01T09:00:00Z",
               "local_changes": [
                   {"op": "add", "variant_id": theirs, "quantity": 1, "at": iso("09:26")},
                   {"op": "set", "variant_id": eggs, "quantity": 3, "at": iso("09:24")},
                   {"op": "set", "variant_id": toma, "quantity": 5, "at": iso("09:25"),
                    "seen_price": 12000},
                   {"op": "remove", "variant_id": onio, "at": iso("09:10")},
                   {"op": "add", "variant_id": mana, "quantity": 5, "at": iso("09:21"),
                    "seen_price": 5000},
                   {"op": "remove", "variant_id": eggs, "at": iso("09:24")},
                   {"op": "add", "variant_id": pine, "quantity": 1, "at": iso("09:22")},
                   {"op": "set", "variant_id": suku, "quantity": 2, "at": iso("09:20")},
                   {"op": "add", "variant_id": eggs, "quantity": 2, "at": iso("09:24")},
                   {"op": "add", "variant_id": eggs, "quantity": 1, "at": iso("09:23")}]}
    merged = api.post(CART, headers=owner, json=offline)
    assert merged.status_code == 200, merged.get_json()
    assert merged.get_json() == {
        "client_id": "pos-1", "new_sync_timestamp": "2025-03-01T09:30:00Z",
        "server_changes": {"cart_id": cart_id, "currency": "KES", "subtotal": 210000,
                           "item_count": 14, "lines": [
                               # Set at 09:25, after the cart's last change (09:20): the
                               # client's 5, at the server's new price.
                               line(toma, "Tomatoes 1kg", 5, 13000, 80),
                               # Removed at 09:10, before the shopper's 4 at 09:20: kept.
                               line(onio, "Onions 1kg", 4, 10000, 70),
                               # 5 wanted, 3 in stock.
                               line(mana, "Managu bunch", 3, 5000, 3),
                               # add 1 (09:23), set 3, remove, add 2 (all 09:24, list order).
                               line(eggs, "Eggs tray of 30", 2, 45000, 15)]},
        "conflicts": [
            conflict(suku, "server_newer", 2, 0),  # 09:20 ties the cart's change: server's
            conflict(toma, "price_changed", 12000, 13000, field="price"),
            conflict(onio, "server_newer", 0, 4),
            conflict(mana, "out_of_stock", 5, 3),
            conflict(pine, "out_of_stock", 1, 0),  # sold out
            conflict(theirs, "not_available", 1, 0)]}  # another store's: as if none
    assert cart_lines(db, store) == {"TOMA-1KG": 5, "ONIO-1KG": 4, "MANA-BUNC": 3,
                                     "EGGS-TRAY-OF-30": 2}

    # 09:31 The answer was lost; the app sends the same again: nothing changes.
    clock.now = at("09:31")
    again = api.post(CART, headers=owner, json=offline).get_json()
    assert again["server_changes"] == merged.get_json()["server_changes"]
    assert [(c["variant_id"], c["reason"]) for c in again["conflicts"]] == [
        (suku, "server_newer"), (toma, "price_changed"), (onio, "server_newer"),
        (mana, "server_newer"), (pine, "server_newer"), (theirs, "server_newer")]
    assert cart_lines(db, store) == {"TOMA-1KG": 5, "ONIO-1KG": 4, "MANA-BUNC": 3,
                                     "EGGS-TRAY-OF-30": 2}
    assert db.scalar(select(func.count()).select_from(CartLine).where(
        CartLine.store_id == other_store.id)) == 0


def test_a_cart_unchanged_since_the_last_sync_takes_the_clients_changes_whatever_its_clock(
        api, db, store, owner, clock):
    toma, onio = ids(db, store, "TOMA-1KG", "ONIO-1KG")
    clock.now = at("09:00")
    api.post(CART, headers=owner, json={"client_id": "pos-1", "phone": PHONE, "local_changes": [
        {"op": "add", "variant_id": toma, "quantity": 2, "at": iso("08:59")}]})
    # The phone's clock is an hour slow: its edit reads 08:10, but nothing changed since 09:00.
    clock.now = at("09:30")
    answer = api.post(CART, headers=owner, json={
        "client_id": "pos-1", "phone": PHONE, "last_sync": iso("09:00"), "local_changes": [
            {"op": "set", "variant_id": toma, "quantity": 1, "at": iso("08:10")},
            {"op": "add", "variant_id": onio, "quantity": 99, "at": iso("08:11")}]}).get_json()
    assert answer["conflicts"] == [conflict(onio, "out_of_stock", 99, 70)]
    assert cart_lines(db, store) == {"TOMA-1KG": 1, "ONIO-1KG": 70}
    # Without last_sync the same slow clock loses to the cart's change at 09:30.
    clock.now = at("09:40")
    lost = api.post(CART, headers=owner, json={
        "client_id": "pos-1", "phone": PHONE, "local_changes": [
            {"op": "remove", "variant_id": toma, "at": iso("09:29")}]}).get_json()
    assert lost["conflicts"] == [conflict(toma, "server_newer", 0, 1)]
    assert cart_lines(db, store) == {"TOMA-1KG": 1, "ONIO-1KG": 70}


def test_only_lines_the_server_changed_since_the_last_sync_compete_with_the_client(
        api, db, store, owner, clock):
    toma, onio, cabb = ids(db, store, "TOMA-1KG", "ONIO-1KG", "CABB")
    clock.now = at("09:00")
    api.post(CART, headers=owner, json={"client_id": "pos-1", "phone": PHONE, "local_changes": [
        {"op": "add", "variant_id": toma, "quantity": 2, "at": iso("08:58")},
        {"op": "add", "variant_id": onio, "quantity": 1, "at": iso("08:59")}]})
    # 09:20 By USSD the shopper makes it 4 onions: that line (and so the cart) changes.
    clock.now = at("09:20")
    customer = find_customer_by_phone(db, store, PHONE)
    carts.do_set_quantity(db, store, customer.id, onio, 4)
    line_times = {ln.variant.sku: ln.updated_at for ln in db.scalars(select(CartLine))}
    assert line_times == {"TOMA-1KG": at("09:00"), "ONIO-1KG": at("09:20")}

    # 09:30 The app's changes, all made offline before 09:20.
    clock.now = at("09:30")
    answer = api.post(CART, headers=owner, json={
        "client_id": "pos-1", "phone": PHONE, "last_sync": iso("09:00"), "local_changes": [
            {"op": "set", "variant_id": toma, "quantity": 3, "at": iso("09:10")},
            {"op": "set", "variant_id": onio, "quantity": 2, "at": iso("09:15")},
            {"op": "add", "variant_id": cabb, "quantity": 1, "at": iso("09:05")}]}).get_json()
    # Tomatoes: not touched on the server since 09:00, so the client's 3 holds although the
    # cart changed at 09:20. Onions: changed at 09:20, after the client's 09:15: the server's.
    # Cabbage: no line to keep a time, so the cart's change at 09:20 wins over 09:05.
    assert answer["conflicts"] == [conflict(onio, "server_newer", 2, 4),
                                   conflict(cabb, "server_newer", 1, 0)]
    assert cart_lines(db, store) == {"TOMA-1KG": 3, "ONIO-1KG": 4}
    assert {ln.variant.sku: ln.updated_at for ln in db.scalars(select(CartLine))} == {
        "TOMA-1KG": at("09:30"), "ONIO-1KG": at("09:20")}


def test_a_line_is_capped_at_the_most_one_line_may_hold(api, db, store, owner, clock):
    [milk] = ids(db, store, "FRES-MILK-500M")  # 70 in stock
    flour = variant_by_sku(db, store, "MAIZ-FLOU-1KG")  # 100 in stock
    answer = api.post(CART, headers=owner, json={
        "client_id": "pos-1", "phone": PHONE, "local_changes": [
            {"op": "add", "variant_id": flour.id, "quantity": 60, "at": iso("08:00")},
            {"op": "add", "variant_id": flour.id, "quantity": 60, "at": iso("08:01")},
            {"op": "set", "variant_id": milk, "quantity": 0, "at": iso("08:02")}]}).get_json()
    assert answer["conflicts"] == [conflict(flour.id, "max_quantity", 120, 99)]
    assert [(ln["variant_id"], ln["quantity"]) for ln in answer["server_changes"]["lines"]] \
        == [(flour.id, 99)]


@pytest.mark.parametrize("change, field", [
    ({"op": "add", "variant_id": 2, "quantity": "2", "at": "2025-03-01T09:00:00Z"},
     "local_changes.0.quantity"),
    ({"op": "add", "variant_id": 2, "quantity": -1, "at": "2025-03-01T09:00:00Z"},
     "local_changes.0.quantity"),
    ({"op": "set", "variant_id": 2, "quantity": 100, "at": "2025-03-01T09:00:00Z"},
     "local_changes.0.quantity"),
    ({"op": "add", "variant_id": 2, "at": "2025-03-01T09:00:00Z"}, "local_changes.0"),
    ({"op": "remove", "variant_id": 2, "quantity": 3, "at": "2025-03-01T09:00:00Z"},
     "local_changes.0"),
    ({"op": "delete", "variant_id": 2, "at": "2025-03-01T09:00:00Z"}, "local_changes.0.op"),
    ({"op": "add", "variant_id": 0, "quantity": 1, "at": "2025-03-01T09:00:00Z"},
     "local_changes.0.variant_id"),
    ({"op": "add", "variant_id": 2, "quantity": 1, "at": "2025-03-01T09:00:00"},
     "local_changes.0.at"),
    ({"op": "add", "variant_id": 2, "quantity": 1, "at": "0001-01-01T00:00:00+05:00"},
     "local_changes.0.at"),
    ({"op": "add", "variant_id": 2, "quantity": 1}, "local_changes.0.at"),
    ({"op": "add", "variant_id": 2, "quantity": 1, "at": "2025-03-01T09:00:00Z",
      "seen_price": -5}, "local_changes.0.seen_price"),
    ({"op": "add", "variant_id": 2, "quantity": 1, "at": "2025-03-01T09:00:00Z",
      "price": 5}, "local_changes.0.price"),
])
def test_bad_changes_are_refused_and_change_nothing(api, db, store, owner, change, field):
    answer = api.post(CART, headers=owner, json={"client_id": "pos-1", "phone": PHONE,
                                                 "local_changes": [change]})
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert error["code"] == "invalid_body" and error["details"][0]["field"] == field
    assert db.scalar(select(func.count()).select_from(Customer)) == 0
    assert db.scalar(select(func.count()).select_from(Cart)) == 0


@pytest.mark.parametrize("body, code", [
    ({"phone": PHONE, "local_changes": []}, "invalid_body"),  # no client_id
    ({"client_id": "pos 1", "phone": PHONE}, "invalid_body"),
    ({"client_id": "pos-1", "phone": PHONE, "last_sync": "yesterday"}, "invalid_body"),
    ({"client_id": "pos-1", "phone": PHONE, "extra": 1}, "invalid_body"),
    ({"client_id": "pos-1", "phone": "not a phone"}, "invalid_phone_number"),
])
def test_a_bad_sync_is_refused_and_changes_nothing(api, db, store, owner, body, code):
    answer = api.post(CART, headers=owner, json=body)
    assert answer.status_code == 422 and answer.get_json()["error"]["code"] == code
    assert db.scalar(select(func.count()).select_from(Customer)) == 0


def test_counter_staff_may_sync_carts_a_viewer_may_not(app, api, db, store):
    [toma] = ids(db, store, "TOMA-1KG")
    body = {"client_id": "pos-1", "phone": PHONE, "local_changes": [
        {"op": "add", "variant_id": toma, "quantity": 1, "at": "2025-03-01T09:00:00Z"}]}
    viewer = bearer(app, add_staff(db, store, "+254711000001", role="viewer"))
    refused = api.post(CART, headers=viewer, json=body)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    assert cart_lines(db, store) == {}
    assert api.get(CATALOG, headers=viewer).status_code == 200  # reading the catalog is fine
    staff = bearer(app, add_staff(db, store, "+254711000002", role="staff"))
    assert api.post(CART, headers=staff, json=body).status_code == 200
    assert cart_lines(db, store) == {"TOMA-1KG": 1}


def test_another_store_reaches_neither_these_carts_nor_these_variants(
        api, db, store, other_store, owner, other_owner, clock):
    [toma] = ids(db, store, "TOMA-1KG")
    api.post(CART, headers=owner, json={"client_id": "pos-1", "phone": PHONE, "local_changes": [
        {"op": "add", "variant_id": toma, "quantity": 2, "at": iso("08:00")}]})
    theirs = api.post(CART, headers=other_owner, json={
        "client_id": "juma-1", "phone": PHONE, "local_changes": [
            {"op": "set", "variant_id": toma, "quantity": 9, "at": iso("08:30")},
            {"op": "add", "variant_id": 999999, "quantity": 1, "at": iso("08:30")}]}).get_json()
    assert theirs == {"client_id": "juma-1", "new_sync_timestamp": iso("00:00"),
                      "server_changes": {"cart_id": None, "currency": "KES", "lines": [],
                                         "subtotal": 0, "item_count": 0},
                      "conflicts": [conflict(toma, "not_available", 9, 0),
                                    conflict(999999, "not_available", 1, 0)]}
    assert cart_lines(db, store) == {"TOMA-1KG": 2}
    assert cart_lines(db, other_store) == {}


# -- the catalog --------------------------------------------------------------------------------
def test_the_catalog_sync_sends_only_what_changed_and_every_price_and_stock_level(
        api, db, store, owner):
    everything = api.get(CATALOG, headers=owner).get_json()
    variants = db.scalars(select(Variant).where(Variant.store_id == store.id)
                          .order_by(Variant.id)).all()
    assert everything["currency"] == "KES" and len(everything["products"]) == 31
    assert len(everything["levels"]) == len(variants)
    tomatoes = next(p for p in everything["products"] if p["name"] == "Tomatoes")
    assert [(v["sku"], v["title"], v["price"], v["available"]) for v in tomatoes["variants"]] \
        == [("TOMA-1KG", "Tomatoes 1kg", 12000, 80), ("TOMA-500G", "Tomatoes 500g", 6500, 60)]
    since = everything["new_sync_timestamp"]

    onions = variant_by_sku(db, store, "ONIO-1KG")
    catalog.do_update_product(db, store, onions.product_id, description="Red, from Kajiado")
    eggs = variant_by_sku(db, store, "EGGS-HALF-DOZE")
    half = catalog.do_add_variant(db, store, eggs.product_id, VariantInput(
        sku="EGGS-DOZEN", price=18000, option_values={"Size": "dozen"}))
    catalog.do_update_variant(db, store, variant_by_sku(db, store, "SALT-500G").id, price=3500)

    changed = api.get(CATALOG, headers=owner, query_string={"since": since}).get_json()
    # The product changed, the one given a variant, and the one whose variant's price changed.
    assert [p["name"] for p in changed["products"]] == ["Onions", "Eggs", "Salt"]
    assert changed["products"][0]["description"] == "Red, from Kajiado"
    assert [v["sku"] for v in changed["products"][1]["variants"]] == [
        "EGGS-TRAY-OF-30", "EGGS-HALF-DOZE", "EGGS-DOZEN"]
    assert [(v["sku"], v["price"]) for v in changed["products"][2]["variants"]] == [
        ("SALT-500G", 3500)]
    levels = {lv["variant_id"]: lv for lv in changed["levels"]}
    salt = variant_by_sku(db, store, "SALT-500G").id
    assert levels[salt] == {"variant_id": salt, "price": 3500, "available": 60, "active": True}
    assert levels[half.id] == {"variant_id": half.id, "price": 18000, "available": 0,
                               "active": True}

    nothing = api.get(CATALOG, headers=owner,
                      query_string={"since": changed["new_sync_timestamp"]}).get_json()
    assert nothing["products"] == [] and len(nothing["levels"]) == len(variants) + 1


def test_a_variant_edited_since_the_last_sync_brings_its_product_and_one_not_edited_not(
        api, db, store, owner):
    since = api.get(CATALOG, headers=owner).get_json()["new_sync_timestamp"]
    salt = variant_by_sku(db, store, "SALT-500G")
    untouched = variant_by_sku(db, store, "TOMA-1KG")
    catalog.do_update_variant(db, store, salt.id, active=False)

    changed = api.get(CATALOG, headers=owner, query_string={"since": since}).get_json()
    [product] = changed["products"]  # its product row did not change: the variant's did
    assert product["name"] == "Salt"
    assert datetime.fromisoformat(product["updated_at"]) < datetime.fromisoformat(since)
    [variant] = product["variants"]
    assert (variant["id"], variant["active"]) == (salt.id, False)
    assert datetime.fromisoformat(variant["updated_at"]) >= datetime.fromisoformat(since)
    db.expire_all()
    assert db.get(Variant, untouched.id).updated_at < datetime.fromisoformat(since)


def test_another_stores_catalog_sync_holds_none_of_this_store(api, db, store, other_store,
                                                              other_owner):
    chapati = other_variant(db, other_store)
    theirs = api.get(CATALOG, headers=other_owner).get_json()
    assert [p["name"] for p in theirs["products"]] == ["Chapati"]
    assert theirs["levels"] == [{"variant_id": chapati.id, "price": 2000, "available": 0,
                                 "active": True}]


@pytest.mark.parametrize("query", [
    "since=yesterday", "since=2025-03-01T09:00:00", "since=0001-01-01T00:00:00%2B05:00",
    "since=2025-03-01T09:00:00Z&page=2"])
def test_a_bad_since_is_refused(api, store, owner, query):
    answer = api.get(f"{CATALOG}?{query}", headers=owner)
    assert answer.status_code == 422 and answer.get_json()["error"]["code"] == "invalid_query"


def test_looking_at_a_cart_registers_no_one(api, db, store, owner, clock):
    answer = api.post(CART, headers=owner, json={"client_id": "pos-1", "phone": PHONE})
    assert answer.status_code == 200
    assert answer.get_json() == {"client_id": "pos-1", "new_sync_timestamp": iso("00:00"),
                                 "server_changes": {"cart_id": None, "currency": "KES",
                                                    "lines": [], "subtotal": 0,
                                                    "item_count": 0},
                                 "conflicts": []}
    assert db.scalar(select(func.count()).select_from(Customer)) == 0
