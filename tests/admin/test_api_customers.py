"""Customers (list, detail, changes) and carts (read-only), through commerce.customers and
commerce.carts."""
from sqlalchemy import select

from commerce import carts
from commerce.customers import do_add_address, get_or_create_customer
from commerce.models import Cart, Customer
from commerce.order_payments import do_record_payment
from commerce.refunds import do_refund
from tests.admin.conftest import add_staff, bearer, error_of
from tests.helpers import place_order, variant_by_sku

WANJIKU, OTIENO = "+254712345678", "+254722000111"


def customer_row(db, customer_id):
    db.expire_all()
    row = db.get(Customer, customer_id)
    return (row.name, row.locale, row.marketing_consent, row.consent_updated_at)


def two_customers(db, store):
    wanjiku = get_or_create_customer(db, store, WANJIKU)
    wanjiku.name, wanjiku.locale = "Wanjiku Kamau", "sw"
    otieno = get_or_create_customer(db, store, OTIENO)
    otieno.name, otieno.marketing_consent = "Otieno 100%_sure", True
    db.commit()
    return wanjiku, otieno


def ids(answer):
    return [item["id"] for item in answer.get_json()["items"]]


def test_customers_are_listed_and_found_by_name_phone_language_or_consent(api, db, store,
                                                                          owner):
    wanjiku, otieno = two_customers(db, store)
    page = api.get("/api/v1/customers", headers=owner).get_json()
    assert page["next_cursor"] is None
    assert page["items"][1] == {
        "id": wanjiku.id, "phone": WANJIKU, "name": "Wanjiku Kamau", "locale": "sw",
        "marketing_consent": False, "consent_updated_at": None, "opted_out": False,
        "created_at": page["items"][1]["created_at"]}
    searches = {
        "q=kamau": [wanjiku.id], "q=WANJ": [wanjiku.id],
        "q=0712%20345678": [wanjiku.id],  # written as a Kenyan types it
        "q=722000": [otieno.id], "q=100%25_": [otieno.id],  # % and _ are plain characters
        "q=%25": [otieno.id], "q=nobody": [],
        "locale=sw": [wanjiku.id], "consent=true": [otieno.id], "consent=false": [wanjiku.id],
        "q=o&consent=true": [otieno.id],
    }
    for query, expected in searches.items():
        assert ids(api.get(f"/api/v1/customers?{query}", headers=owner)) == expected, query
    assert error_of(api.get("/api/v1/customers?consent=perhaps", headers=owner)) == \
        (422, "invalid_query")
    assert error_of(api.get("/api/v1/customers?q=" + "x" * 81, headers=owner)) == \
        (422, "invalid_query")


def test_a_customers_detail_has_addresses_and_what_they_spent(api, db, store, owner):
    wanjiku, _ = two_customers(db, store)
    address = do_add_address(db, store, wanjiku.id, "Kawangware, stage 56, blue gate",
                             landmark="opposite Naivas", label="Home", town="Kawangware")
    paid = place_order(db, store, phone=WANJIKU)  # KSh 340
    do_record_payment(db, store, paid.id, "mpesa", paid.total, "NLJ7RT61SV")
    do_refund(db, store, paid.id, 5000, reason="bruised tomatoes")
    place_order(db, store, phone=WANJIKU)  # placed, not paid: counted, not spent
    answer = api.get(f"/api/v1/customers/{wanjiku.id}", headers=owner)
    body = answer.get_json()
    assert answer.status_code == 200
    assert {k: body[k] for k in ("orders_count", "total_spent", "currency")} == {
        "orders_count": 2, "total_spent": 34000 - 5000, "currency": "KES"}
    assert body["addresses"] == [{
        "id": address.id, "label": "Home", "text": "Kawangware, stage 56, blue gate",
        "landmark": "opposite Naivas", "town": "Kawangware",
        "created_at": body["addresses"][0]["created_at"]}]


def test_name_language_and_consent_change(api, db, store, owner):
    wanjiku, _ = two_customers(db, store)
    answer = api.patch(f"/api/v1/customers/{wanjiku.id}", headers=owner, json={
        "name": "  Wanjiku   W. Kamau ", "locale": "EN", "marketing_consent": True})
    body = answer.get_json()
    assert answer.status_code == 200
    assert (body["name"], body["locale"], body["marketing_consent"]) == (
        "Wanjiku W. Kamau", "en", True)
    assert body["consent_updated_at"] is not None
    name, locale, consent, when = customer_row(db, wanjiku.id)
    assert (name, locale, consent) == ("Wanjiku W. Kamau", "en", True) and when is not None


def test_bad_changes_are_refused_and_change_nothing(api, db, store, owner):
    wanjiku, _ = two_customers(db, store)
    before = customer_row(db, wanjiku.id)
    cases = [
        ({"locale": "fr", "marketing_consent": True}, (422, "invalid_customer")),  # not offered
        ({"name": 7}, (422, "invalid_body")),
        ({"name": "x" * 121}, (422, "invalid_body")),
        ({"marketing_consent": "yes"}, (422, "invalid_body")),
        ({"phone": "+254700000000"}, (422, "invalid_body")),  # the phone is who they are
        ({"locale": ""}, (422, "invalid_body")),
    ]
    for body, expected in cases:
        answer = api.patch(f"/api/v1/customers/{wanjiku.id}", headers=owner, json=body)
        assert error_of(answer) == expected, body
    answer = api.patch(f"/api/v1/customers/{wanjiku.id}", headers=owner,
                       json={"locale": "fr"})
    assert answer.get_json()["error"] == {
        "code": "invalid_customer", "message": "Mama Mboga Fresh offers these languages: en, sw.",
        "details": {"field": "locale"}}
    assert customer_row(db, wanjiku.id) == before


def test_a_viewer_reads_customers_but_cannot_change_them(app, api, db, store):
    wanjiku, _ = two_customers(db, store)
    viewer = bearer(app, add_staff(db, store, "+254711222444", role="viewer"))
    before = customer_row(db, wanjiku.id)
    assert api.get(f"/api/v1/customers/{wanjiku.id}", headers=viewer).status_code == 200
    answer = api.patch(f"/api/v1/customers/{wanjiku.id}", headers=viewer,
                       json={"marketing_consent": True})
    assert error_of(answer) == (403, "forbidden")
    assert customer_row(db, wanjiku.id) == before


def test_another_stores_customers_are_out_of_reach(api, db, store, owner, other_store,
                                                   other_owner):
    theirs = get_or_create_customer(db, other_store, WANJIKU)  # the same phone, another store
    theirs.name = "Wanjiku at Juma's"
    db.commit()
    mine, _ = two_customers(db, store)
    before = customer_row(db, theirs.id)
    assert error_of(api.get(f"/api/v1/customers/{theirs.id}", headers=owner)) == \
        (404, "not_found")
    answer = api.patch(f"/api/v1/customers/{theirs.id}", headers=owner,
                       json={"name": "Taken", "marketing_consent": True})
    assert error_of(answer) == (404, "not_found")
    assert customer_row(db, theirs.id) == before
    assert theirs.id not in ids(api.get("/api/v1/customers?q=wanjiku", headers=owner))
    assert ids(api.get("/api/v1/customers", headers=other_owner)) == [theirs.id]
    assert error_of(api.get(f"/api/v1/customers/{mine.id}", headers=other_owner)) == \
        (404, "not_found")


# -- carts ----------------------------------------------------------------------------------------
def fill_cart(db, store, phone, items):
    customer = get_or_create_customer(db, store, phone)
    for sku, quantity in items:
        carts.do_add_to_cart(db, store, customer.id, variant_by_sku(db, store, sku).id, quantity)
    return customer, carts.get_active_cart(db, store.id, customer.id)


def test_active_carts_are_listed_with_todays_prices(api, db, store, owner):
    customer, cart = fill_cart(db, store, WANJIKU, [("TOMA-1KG", 2), ("ONIO-1KG", 1)])
    variant_by_sku(db, store, "ONIO-1KG").price = 11000  # the price went up since
    db.commit()
    place_order(db, store, phone=OTIENO)  # an ordered cart is not active
    page = api.get("/api/v1/carts", headers=owner).get_json()
    listed = {k: v for k, v in page["items"][0].items()
              if k not in ("last_activity_at", "created_at")}
    assert len(page["items"]) == 1 and listed == {
        "id": cart.id, "status": "active", "customer_id": customer.id,
        "customer_phone": WANJIKU, "item_count": 3, "subtotal": 2 * 12000 + 11000,
        "currency": "KES", "delivery_method": None, "discount_code": None,
        "abandoned_at": None}
    detail = api.get(f"/api/v1/carts/{cart.id}", headers=owner).get_json()
    assert detail["lines"] == [
        {"variant_id": variant_by_sku(db, store, "TOMA-1KG").id, "sku": "TOMA-1KG",
         "title": "Tomatoes 1kg", "quantity": 2, "unit_price": 12000,
         "price_when_added": 12000, "total": 24000},
        {"variant_id": variant_by_sku(db, store, "ONIO-1KG").id, "sku": "ONIO-1KG",
         "title": "Onions 1kg", "quantity": 1, "unit_price": 11000,
         "price_when_added": 10000, "total": 11000}]
    assert (detail["weight_grams"], detail["shipping_zone_id"], detail["address_text"]) == \
        (0, None, "")
    assert ids(api.get(f"/api/v1/carts?customer_id={customer.id}", headers=owner)) == [cart.id]
    assert ids(api.get("/api/v1/carts?abandoned=true", headers=owner)) == []
    assert ids(api.get("/api/v1/carts?abandoned=false", headers=owner)) == [cart.id]


def test_carts_are_read_only_and_need_carts_read(app, api, db, store, owner):
    _, cart = fill_cart(db, store, WANJIKU, [("TOMA-1KG", 1)])
    assert error_of(api.delete(f"/api/v1/carts/{cart.id}", headers=owner)) == \
        (405, "method_not_allowed")
    viewer = bearer(app, add_staff(db, store, "+254711222444", role="viewer"))
    assert api.get(f"/api/v1/carts/{cart.id}", headers=viewer).status_code == 200
    assert error_of(api.get("/api/v1/carts?colour=red", headers=owner)) == \
        (422, "invalid_query")


def test_another_stores_carts_are_out_of_reach(api, db, store, owner, other_store,
                                               other_owner):
    _, mine = fill_cart(db, store, WANJIKU, [("TOMA-1KG", 1)])
    juma_customer = get_or_create_customer(db, other_store, WANJIKU)
    theirs = Cart(store_id=other_store.id, customer_id=juma_customer.id)
    db.add(theirs)
    db.commit()
    assert error_of(api.get(f"/api/v1/carts/{theirs.id}", headers=owner)) == (404, "not_found")
    assert ids(api.get("/api/v1/carts", headers=owner)) == [mine.id]
    assert ids(api.get(f"/api/v1/carts?customer_id={juma_customer.id}", headers=owner)) == []
    assert ids(api.get("/api/v1/carts", headers=other_owner)) == [theirs.id]
    assert error_of(api.get(f"/api/v1/carts/{mine.id}", headers=other_owner)) == \
        (404, "not_found")
    assert db.scalar(select(Cart.status).where(Cart.id == theirs.id)) == "active"
