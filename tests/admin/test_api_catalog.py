"""The catalog over the merchant API: products, variants, images, categories, collections, CSV.

The demo store "Mama Mboga Fresh" has 31 products (38 variants) in 5 categories, no collections
and no images; its products were created in catalog order, so Matches is the newest.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from commerce import catalog
from commerce.catalog_csv import export_catalog_csv
from commerce.models import (
    Category, Collection, CollectionProduct, Product, ProductImage, Stock, StockMovement, Variant,
)
from tests.admin.conftest import OWNER_PHONE, add_staff, bearer, error_of, staff_row
from tests.helpers import variant_by_sku

V1 = "/api/v1"
HEADER = ("sku,product,category,description,option1_name,option1_value,option2_name,"
          "option2_value,price,weight_grams,active,stock,image_urls")


def catalog_rows(db) -> tuple:
    """Every catalog row of every store, to prove a refused request changed none of them."""
    db.expire_all()
    return tuple(tuple(db.execute(select(model.__table__).order_by(model.__table__.c.id)).all())
                 for model in (Category, Collection, CollectionProduct, Product, ProductImage,
                               Variant, Stock, StockMovement))


def product_named(db, store, name) -> Product:
    return db.scalar(select(Product).where(Product.store_id == store.id, Product.name == name))


def category_named(db, store, name) -> Category:
    return db.scalar(select(Category).where(Category.store_id == store.id,
                                            Category.name == name))


def untimed(product: dict) -> dict:
    """The answer without its timestamps (checked to be there), for exact comparison."""
    assert isinstance(product.pop("created_at"), str) and isinstance(product.pop("updated_at"),
                                                                     str)
    for variant in product["variants"]:
        assert isinstance(variant.pop("created_at"), str)
    return product


def names(page: dict) -> list[str]:
    return [item["name"] for item in page["items"]]


# -- products -------------------------------------------------------------------------------------
def test_products_are_listed_newest_first_with_their_variants_page_by_page(api, db, store, owner):
    first = api.get(f"{V1}/products?limit=20", headers=owner).get_json()
    second = api.get(f"{V1}/products?limit=20&cursor={first['next_cursor']}",
                     headers=owner).get_json()
    ids = [item["id"] for item in first["items"] + second["items"]]
    assert (len(first["items"]), len(second["items"]), second["next_cursor"]) == (20, 11, None)
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 31
    matches = product_named(db, store, "Matches")
    assert untimed(first["items"][0]) == {
        "id": matches.id, "name": "Matches", "description": "",
        "category_id": category_named(db, store, "Household").id, "option_names": [],
        "active": True, "images": [],
        "variants": [{"id": variant_by_sku(db, store, "MATC-PACK-OF-10").id,
                      "product_id": matches.id, "sku": "MATC-PACK-OF-10", "name": "pack of 10",
                      "option_values": {}, "price": 5000, "currency": "KES",
                      "weight_grams": 0, "active": True}]}


def test_products_are_filtered_by_category_collection_state_and_name(api, db, store, owner):
    fruits = category_named(db, store, "Fruits")
    assert names(api.get(f"{V1}/products?category_id={fruits.id}", headers=owner).get_json()) \
        == ["Passion fruit", "Watermelon", "Pineapple", "Oranges", "Avocados", "Mangoes",
            "Bananas"]
    for q in ("flour", "FLOUR", "Flo"):
        assert names(api.get(f"{V1}/products?q={q}", headers=owner).get_json()) == [
            "Wheat flour", "Maize flour"]
    # LIKE's wildcards are searched for as themselves
    assert api.get(f"{V1}/products?q=%25", headers=owner).get_json()["items"] == []
    assert api.get(f"{V1}/products?q=_", headers=owner).get_json()["items"] == []
    assert api.get(f"{V1}/products?active=false", headers=owner).get_json()["items"] == []

    sugar = product_named(db, store, "Sugar")
    catalog.do_set_product_active(db, store, sugar.id, False)
    assert names(api.get(f"{V1}/products?active=false", headers=owner).get_json()) == ["Sugar"]
    assert len(api.get(f"{V1}/products?active=true&limit=100",
                       headers=owner).get_json()["items"]) == 30
    deals = catalog.do_create_collection(db, store, "Deals")
    for name in ("Rice", "Beans"):
        catalog.do_add_to_collection(db, store, deals.id, product_named(db, store, name).id)
    assert names(api.get(f"{V1}/products?collection_id={deals.id}&q=ric",
                         headers=owner).get_json()) == ["Rice"]
    assert error_of(api.get(f"{V1}/products?category_id=999999", headers=owner)) == (
        404, "not_found")
    assert error_of(api.get(f"{V1}/products?collection_id=999999", headers=owner)) == (
        404, "not_found")


KITENGE = {
    "name": "Kitenge", "description": "Wax print, 6 yards.", "option_names": ["Colour"],
    "variants": [{"sku": "KITE-RED", "price": 150000, "option_values": {"Colour": "Red"},
                  "weight_grams": 400},
                 {"sku": "KITE-BLUE", "price": 145000, "option_values": {"Colour": "Blue"},
                  "active": False}],
    "image_urls": ["https://img.example/kitenge-red.jpg", "https://img.example/kitenge.jpg"],
}


def test_a_product_is_created_with_its_variants_and_images(api, db, store, owner):
    household = category_named(db, store, "Household")
    created = api.post(f"{V1}/products", headers=owner,
                       json={**KITENGE, "category_id": household.id})
    assert created.status_code == 201
    product = product_named(db, store, "Kitenge")
    red, blue = variant_by_sku(db, store, "KITE-RED"), variant_by_sku(db, store, "KITE-BLUE")
    first, second = product.images
    expected = {
        "id": product.id, "name": "Kitenge", "description": "Wax print, 6 yards.",
        "category_id": household.id, "option_names": ["Colour"], "active": True,
        "variants": [
            {"id": red.id, "product_id": product.id, "sku": "KITE-RED", "name": "Red",
             "option_values": {"Colour": "Red"}, "price": 150000, "currency": "KES",
             "weight_grams": 400, "active": True},
            {"id": blue.id, "product_id": product.id, "sku": "KITE-BLUE", "name": "Blue",
             "option_values": {"Colour": "Blue"}, "price": 145000, "currency": "KES",
             "weight_grams": 0, "active": False}],
        "images": [{"id": first.id, "url": "https://img.example/kitenge-red.jpg", "position": 0},
                   {"id": second.id, "url": "https://img.example/kitenge.jpg", "position": 1}],
    }
    assert untimed(created.get_json()) == expected
    assert untimed(api.get(f"{V1}/products/{product.id}", headers=owner).get_json()) == expected


@pytest.mark.parametrize("body, expected", [
    ({**KITENGE, "variants": []}, (422, "invalid_body")),  # a product needs a variant
    ({**KITENGE, "variants": [{"sku": "K-1", "price": -100}]}, (422, "invalid_body")),
    ({**KITENGE, "variants": [{"sku": "K-1", "price": "1500"}]}, (422, "invalid_body")),
    ({**KITENGE, "variants": [{"sku": "K-1", "price": 15.5}]}, (422, "invalid_body")),
    ({**KITENGE, "variants": [{"sku": "K-1", "price": True}]}, (422, "invalid_body")),
    ({**KITENGE, "variants": [{"price": 100}]}, (422, "invalid_body")),  # no SKU
    ({**KITENGE, "price": 100}, (422, "invalid_body")),  # an unknown field
    ({k: v for k, v in KITENGE.items() if k != "name"}, (422, "invalid_body")),
    ({**KITENGE, "category_id": "3"}, (422, "invalid_body")),
    ({**KITENGE, "name": "   "}, (422, "invalid_product")),
    ({**KITENGE, "option_names": ["Size", "Colour", "Fabric"]}, (422, "invalid_body")),
    ({**KITENGE, "variants": [{"sku": "K-1", "price": 100}]}, (422, "invalid_variant")),
    ({**KITENGE, "variants": [{"sku": "TOMA-1KG", "price": 100,  # the demo's SKU
                               "option_values": {"Colour": "Red"}}]}, (409, "duplicate_sku")),
    ({**KITENGE, "image_urls": ["ftp://img.example/k.jpg"]}, (422, "invalid_image")),
    ({**KITENGE, "category_id": 999999}, (404, "not_found")),
])
def test_a_bad_product_is_refused_and_nothing_is_created(api, db, store, owner, body, expected):
    before = catalog_rows(db)
    assert error_of(api.post(f"{V1}/products", headers=owner, json=body)) == expected
    assert catalog_rows(db) == before


def test_a_product_is_renamed_moved_and_taken_off_sale(api, db, store, owner):
    tomatoes = product_named(db, store, "Tomatoes")
    fruits = category_named(db, store, "Fruits")
    changed = api.patch(f"{V1}/products/{tomatoes.id}", headers=owner, json={
        "name": "Nyanya", "description": "From Kirinyaga.", "category_id": fruits.id,
        "option_names": ["Weight"], "active": False}).get_json()
    assert {k: changed[k] for k in ("name", "description", "category_id", "option_names",
                                    "active")} == {
        "name": "Nyanya", "description": "From Kirinyaga.", "category_id": fruits.id,
        "option_names": ["Weight"], "active": False}
    assert [(v["sku"], v["name"], v["option_values"]) for v in changed["variants"]] == [
        ("TOMA-1KG", "1kg", {"Weight": "1kg"}), ("TOMA-500G", "500g", {"Weight": "500g"})]

    # What is not sent stays; an explicit null takes the product out of its category.
    again = api.patch(f"{V1}/products/{tomatoes.id}", headers=owner,
                      json={"category_id": None, "active": True}).get_json()
    assert (again["name"], again["category_id"], again["active"]) == ("Nyanya", None, True)
    db.expire_all()
    assert (tomatoes.name, tomatoes.category_id, tomatoes.active) == ("Nyanya", None, True)

    assert error_of(api.patch(f"{V1}/products/{tomatoes.id}", headers=owner,
                              json={"option_names": ["Weight", "Colour"]})) == (
        422, "invalid_product")
    assert error_of(api.patch(f"{V1}/products/{tomatoes.id}", headers=owner,
                              json={"price": 100})) == (422, "invalid_body")


def test_delete_takes_a_product_off_sale_and_keeps_it(api, db, store, owner):
    """The core has no delete (orders refer to products): DELETE is "take off sale"."""
    cabbage = product_named(db, store, "Cabbage")
    assert api.delete(f"{V1}/products/{cabbage.id}", headers=owner).status_code == 204
    assert api.get(f"{V1}/products/{cabbage.id}", headers=owner).get_json()["active"] is False
    assert cabbage.id not in {p.id for p in catalog.list_products(db, store.id)}
    assert api.delete(f"{V1}/products/{cabbage.id}", headers=owner).status_code == 204
    assert error_of(api.delete(f"{V1}/products/999999", headers=owner)) == (404, "not_found")


# -- variants -------------------------------------------------------------------------------------
def test_a_variant_is_added_and_changed(api, db, store, owner):
    tomatoes = product_named(db, store, "Tomatoes")
    added = api.post(f"{V1}/products/{tomatoes.id}/variants", headers=owner, json={
        "sku": "TOMA-2KG", "price": 23000, "option_values": {"Size": "2kg"}})
    assert added.status_code == 201
    variant = variant_by_sku(db, store, "TOMA-2KG")
    body = added.get_json()
    assert isinstance(body.pop("created_at"), str)
    assert body == {"id": variant.id, "product_id": tomatoes.id, "sku": "TOMA-2KG",
                    "name": "2kg", "option_values": {"Size": "2kg"}, "price": 23000,
                    "currency": "KES", "weight_grams": 0, "active": True}

    changed = api.patch(f"{V1}/variants/{variant.id}", headers=owner, json={
        "price": 25000, "sku": "TOMA-2000G", "weight_grams": 2000, "active": False}).get_json()
    assert isinstance(changed.pop("created_at"), str)
    assert changed == {**body, "price": 25000, "sku": "TOMA-2000G", "weight_grams": 2000,
                       "active": False}
    shown = api.get(f"{V1}/variants/{variant.id}", headers=owner).get_json()
    assert {**shown, "created_at": None} == {**changed, "created_at": None}
    db.expire_all()
    assert (variant.sku, variant.price, variant.weight_grams, variant.active) == (
        "TOMA-2000G", 25000, 2000, False)


@pytest.mark.parametrize("body, expected", [
    ({"price": -1}, (422, "invalid_body")),
    ({"price": "250"}, (422, "invalid_body")),
    ({"price": 2**31}, (422, "invalid_body")),  # more than the column holds
    ({"weight_grams": -5}, (422, "invalid_body")),
    ({"colour": "red"}, (422, "invalid_body")),
    ({"sku": ""}, (422, "invalid_body")),
    ({"sku": "TOMA-500G"}, (409, "duplicate_sku")),  # its sibling's
    ({"option_values": {"Size": "500g"}}, (422, "invalid_variant")),  # looks like its sibling
    ({"option_values": {"Colour": "red"}}, (422, "invalid_variant")),
])
def test_a_bad_variant_change_is_refused_and_changes_nothing(api, db, store, owner, body,
                                                             expected):
    variant = variant_by_sku(db, store, "TOMA-1KG")
    before = catalog_rows(db)
    assert error_of(api.patch(f"{V1}/variants/{variant.id}", headers=owner, json=body)) == \
        expected
    assert catalog_rows(db) == before


def test_a_bad_new_variant_is_refused(api, db, store, owner):
    tomatoes = product_named(db, store, "Tomatoes")
    before = catalog_rows(db)
    for body, expected in [
            ({"sku": "TOMA-X", "price": 100, "option_values": {"Size": "1kg"}},
             (422, "invalid_variant")),
            ({"sku": "ONIO-1KG", "price": 100, "option_values": {"Size": "3kg"}},
             (409, "duplicate_sku")),
            ({"sku": "TOMA-X", "price": -100, "option_values": {"Size": "3kg"}},
             (422, "invalid_body")),
            ({"sku": "TOMA-X", "option_values": {"Size": "3kg"}}, (422, "invalid_body"))]:
        assert error_of(api.post(f"{V1}/products/{tomatoes.id}/variants", headers=owner,
                                 json=body)) == expected, body
    assert error_of(api.post(f"{V1}/products/999999/variants", headers=owner,
                             json={"sku": "X-1", "price": 100})) == (404, "not_found")
    assert catalog_rows(db) == before


# -- images ---------------------------------------------------------------------------------------
def test_images_are_added_by_url_and_removed(api, db, store, owner):
    tomatoes = product_named(db, store, "Tomatoes")
    path = f"{V1}/products/{tomatoes.id}/images"
    first = api.post(path, headers=owner, json={"url": "https://img.example/nyanya.jpg"})
    assert first.status_code == 201
    second = api.post(path, headers=owner, json={"url": "https://img.example/crate.jpg"})
    images = db.scalars(select(ProductImage).where(ProductImage.product_id == tomatoes.id)
                        .order_by(ProductImage.position)).all()
    assert second.get_json() == api.get(path, headers=owner).get_json() == [
        {"id": images[0].id, "url": "https://img.example/nyanya.jpg", "position": 0},
        {"id": images[1].id, "url": "https://img.example/crate.jpg", "position": 1}]

    bad = api.post(path, headers=owner, json={"url": "ftp://img.example/x.jpg"})
    assert error_of(bad) == (422, "invalid_image")
    assert bad.get_json()["error"]["message"] == (
        "An image URL must be a web address starting with http:// or https://, not "
        "ftp://img.example/x.jpg.")
    assert error_of(api.post(path, headers=owner, json={"url": 5})) == (422, "invalid_body")

    assert api.delete(f"{path}/{images[0].id}", headers=owner).status_code == 204
    [left] = api.get(path, headers=owner).get_json()
    assert (left["url"], left["position"]) == ("https://img.example/crate.jpg", 0)
    # an image of another product of the store is not this product's
    onions = product_named(db, store, "Onions")
    onion = api.post(f"{V1}/products/{onions.id}/images", headers=owner,
                     json={"url": "https://img.example/onion.jpg"}).get_json()[0]
    missing = api.delete(f"{path}/{onion['id']}", headers=owner)
    assert missing.get_json()["error"] == {"code": "not_found", "message": "No such image of "
                                           "this product.", "details": {}}


def test_a_product_has_at_most_ten_images(api, db, store, owner):
    path = f"{V1}/products/{product_named(db, store, 'Rice').id}/images"
    for n in range(10):
        assert api.post(path, headers=owner, json={"url": f"https://img.example/{n}.jpg"}) \
            .status_code == 201
    eleventh = api.post(path, headers=owner, json={"url": "https://img.example/10.jpg"})
    assert error_of(eleventh) == (422, "invalid_image")
    assert len(api.get(path, headers=owner).get_json()) == 10


# -- categories -----------------------------------------------------------------------------------
def test_categories_as_a_tree_and_flat_created_renamed_moved_and_deleted(api, db, store, owner):
    ids = {name: category_named(db, store, name).id for name in (
        "Vegetables", "Fruits", "Grains & Flour", "Dairy & Eggs", "Household")}
    assert api.get(f"{V1}/categories/tree", headers=owner).get_json() == {"items": [
        {"id": ids[name], "name": name, "position": position, "children": []}
        for position, name in enumerate(ids)]}

    created = api.post(f"{V1}/categories", headers=owner,
                       json={"name": "Leafy greens", "parent_id": ids["Vegetables"]})
    assert created.status_code == 201
    greens = created.get_json()["id"]
    assert created.get_json() == {"id": greens, "name": "Leafy greens",
                                  "parent_id": ids["Vegetables"], "position": 0}
    tree = api.get(f"{V1}/categories/tree", headers=owner).get_json()["items"]
    assert tree[0]["children"] == [{"id": greens, "name": "Leafy greens", "position": 0,
                                    "children": []}]
    flat = api.get(f"{V1}/categories", headers=owner).get_json()
    assert (len(flat["items"]), flat["items"][0]["id"], flat["next_cursor"]) == (6, greens, None)

    renamed = api.patch(f"{V1}/categories/{greens}", headers=owner, json={"name": "Greens"})
    assert renamed.get_json() == {"id": greens, "name": "Greens",
                                  "parent_id": ids["Vegetables"], "position": 0}
    taken = api.patch(f"{V1}/categories/{greens}", headers=owner, json={"name": "Fruits"})
    assert taken.get_json()["error"] == {"code": "invalid_category", "message": "There is "
                                         "already a category called Fruits.", "details": {}}
    loop = api.post(f"{V1}/categories/{ids['Vegetables']}/move", headers=owner,
                    json={"parent_id": greens})
    assert error_of(loop) == (422, "invalid_category")

    full = api.delete(f"{V1}/categories/{ids['Vegetables']}", headers=owner)
    assert full.status_code == 409 and full.get_json()["error"] == {
        "code": "category_not_empty",
        "message": "Vegetables still has 8 product(s) and 1 subcategory(ies); move them out "
                   "first.", "details": {"products": 8, "subcategories": 1}}

    moved = api.post(f"{V1}/categories/{greens}/move", headers=owner, json={"parent_id": None})
    assert moved.get_json() == {"id": greens, "name": "Greens", "parent_id": None,
                                "position": 5}
    assert error_of(api.post(f"{V1}/categories/{greens}/move", headers=owner, json={})) == (
        422, "invalid_body")  # where to is not optional
    assert api.delete(f"{V1}/categories/{greens}", headers=owner).status_code == 204
    assert error_of(api.get(f"{V1}/categories/{greens}", headers=owner)) == (404, "not_found")
    assert api.get(f"{V1}/categories/{ids['Fruits']}", headers=owner).get_json() == {
        "id": ids["Fruits"], "name": "Fruits", "parent_id": None, "position": 1}


def test_bad_categories_are_refused_and_change_nothing(api, db, store, owner):
    before = catalog_rows(db)
    for body, expected in [({"name": ""}, (422, "invalid_body")),
                           ({"name": "   "}, (422, "invalid_category")),
                           ({"name": "x" * 81}, (422, "invalid_body")),
                           ({"name": "Fruits"}, (422, "invalid_category")),
                           ({"name": "Toys", "parent_id": 999999}, (404, "not_found")),
                           ({"name": "Toys", "parent_id": "1"}, (422, "invalid_body")),
                           ({"name": "Toys", "colour": "red"}, (422, "invalid_body"))]:
        assert error_of(api.post(f"{V1}/categories", headers=owner, json=body)) == expected
    assert catalog_rows(db) == before


# -- collections ----------------------------------------------------------------------------------
def test_a_collection_is_filled_reordered_and_emptied(api, db, store, owner):
    t, o, m = (product_named(db, store, name).id for name in ("Tomatoes", "Onions", "Mangoes"))
    created = api.post(f"{V1}/collections", headers=owner, json={"name": "Weekend deals"})
    assert created.status_code == 201
    deals = created.get_json()["id"]
    assert created.get_json() == {"id": deals, "name": "Weekend deals", "active": True,
                                  "products": []}
    path = f"{V1}/collections/{deals}/products"
    for product_id in (t, o, m, t):  # the second Tomatoes changes nothing
        answer = api.post(path, headers=owner, json={"product_id": product_id})
    assert answer.status_code == 200
    assert answer.get_json()["products"] == [
        {"id": t, "name": "Tomatoes", "active": True}, {"id": o, "name": "Onions", "active": True},
        {"id": m, "name": "Mangoes", "active": True}]

    reordered = api.put(f"{V1}/collections/{deals}/order", headers=owner,
                        json={"product_ids": [m, t, o]})
    assert [p["id"] for p in reordered.get_json()["products"]] == [m, t, o]
    partial = api.put(f"{V1}/collections/{deals}/order", headers=owner,
                      json={"product_ids": [m, t]})
    assert partial.get_json()["error"]["message"] == ("List every product of the collection "
                                                      "exactly once.")
    assert error_of(partial) == (422, "invalid_collection")

    # The merchant still sees a product taken off sale, marked so.
    catalog.do_set_product_active(db, store, m, False)
    assert api.get(f"{V1}/collections/{deals}", headers=owner).get_json()["products"][0] == {
        "id": m, "name": "Mangoes", "active": False}
    assert api.delete(f"{path}/{o}", headers=owner).status_code == 204
    gone = api.delete(f"{path}/{o}", headers=owner)
    assert gone.get_json()["error"] == {"code": "not_found", "message": "That product is not "
                                        "in this collection.", "details": {}}
    assert [p["id"] for p in api.get(f"{V1}/collections/{deals}",
                                     headers=owner).get_json()["products"]] == [m, t]
    assert api.get(f"{V1}/collections", headers=owner).get_json() == {
        "items": [{"id": deals, "name": "Weekend deals", "active": True}], "next_cursor": None}
    assert error_of(api.post(f"{V1}/collections", headers=owner,
                             json={"name": "Weekend deals"})) == (422, "invalid_collection")
    assert error_of(api.post(path, headers=owner, json={"product_id": 999999})) == (
        404, "not_found")
    assert error_of(api.post(path, headers=owner, json={"product_id": "5"})) == (
        422, "invalid_body")
    assert error_of(api.put(f"{V1}/collections/{deals}/order", headers=owner,
                            json={"product_ids": [m, -1]})) == (422, "invalid_body")


# -- CSV ------------------------------------------------------------------------------------------
def test_the_catalog_exports_as_csv_with_an_etag(api, db, store, owner):
    answer = api.get(f"{V1}/products/export", headers=owner)
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert answer.headers["Content-Disposition"] == (
        'attachment; filename="mama-mboga-catalog.csv"')
    text = answer.get_data(as_text=True)
    assert text == export_catalog_csv(db, store) and text.startswith(HEADER + "\r\n")
    assert "TOMA-1KG,Tomatoes,Vegetables,,Size,1kg,,,120.00,0,true,80,\r\n" in text

    etag = answer.headers["ETag"]
    same = api.get(f"{V1}/products/export", headers={**owner, "If-None-Match": etag})
    assert (same.status_code, same.get_data()) == (304, b"")
    api.patch(f"{V1}/variants/{variant_by_sku(db, store, 'TOMA-1KG').id}", headers=owner,
              json={"price": 12500})
    changed = api.get(f"{V1}/products/export", headers={**owner, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert "TOMA-1KG,Tomatoes,Vegetables,,Size,1kg,,,125.00,0,true,80,\r\n" in \
        changed.get_data(as_text=True)


def test_csv_export_is_a_read_import_a_write_each_within_the_store(app, api, db, store,
                                                                    other_owner):
    viewer = bearer(app, add_staff(db, store, "+254711222444", role="viewer"))
    assert api.get(f"{V1}/products/export", headers=viewer).status_code == 200
    before = catalog_rows(db)
    refused = api.post(f"{V1}/products/import", headers=viewer,
                       json={"csv": export_catalog_csv(db, store)})
    assert refused.status_code == 403 and refused.get_json()["error"]["message"] == (
        "This needs the products:write permission.")
    assert catalog_rows(db) == before
    # Another store (no products yet) exports nothing of ours: the header alone.
    theirs = api.get(f"{V1}/products/export", headers=other_owner)
    assert theirs.get_data(as_text=True) == HEADER + "\r\n"


def test_a_csv_import_applies_every_row(api, app, db, store, owner):
    text = export_catalog_csv(db, store).replace(
        "TOMA-1KG,Tomatoes,Vegetables,,Size,1kg,,,120.00,0,true,80,",
        "TOMA-1KG,Tomatoes,Vegetables,,Size,1kg,,,125.00,0,true,80,")
    text += "KITE-RED,Kitenge,Clothing,,Colour,Red,,,1500.00,400,true,12,\r\n"
    answer = api.post(f"{V1}/products/import", headers=owner, json={"csv": text})
    assert (answer.status_code, answer.get_json()) == (200, {
        "rows": 39, "products_created": 1, "products_updated": 0, "variants_created": 1,
        "variants_updated": 1, "categories_created": 1, "stock_adjusted": 1, "changed": True})
    db.expire_all()
    assert variant_by_sku(db, store, "TOMA-1KG").price == 12500
    kitenge = variant_by_sku(db, store, "KITE-RED")
    assert (kitenge.product.name, kitenge.price, kitenge.option_values) == (
        "Kitenge", 150000, {"Colour": "Red"})
    movement = db.scalar(select(StockMovement).join(Stock, Stock.id == StockMovement.stock_id)
                         .where(Stock.variant_id == kitenge.id))
    assert (movement.delta, movement.actor) == (
        12, f"staff:{staff_row(db, store, OWNER_PHONE).id}")

    again = api.post(f"{V1}/products/import", headers=owner,
                     json={"csv": export_catalog_csv(db, store)}).get_json()
    assert again == {"rows": 39, "products_created": 0, "products_updated": 0,
                     "variants_created": 0, "variants_updated": 0, "categories_created": 0,
                     "stock_adjusted": 0, "changed": False}


def test_a_csv_import_with_bad_rows_lists_each_by_line_and_applies_none(api, db, store, owner):
    text = "\r\n".join([
        HEADER,
        "TOMA-1KG,Tomatoes,Vegetables,,Size,1kg,,,-5,0,true,80,",
        "KITE-RED,Kitenge,Clothing,,Colour,Red,,,1500.00,400,true,12,",  # fine, yet not applied
        "ONIO-1KG,Onions,Vegetables,,,,,,100.00,heavy,maybe,70,",
        "TOMA-1KG,Tomatoes,Vegetables,,Size,1kg,,,120.00,0,true,80,",
    ]) + "\r\n"
    before = catalog_rows(db)
    answer = api.post(f"{V1}/products/import", headers=owner, json={"csv": text})
    assert (answer.status_code, answer.get_json()) == (422, {"error": {
        "code": "invalid_csv", "message": "The file has 4 problem(s); nothing was imported.",
        "details": {"errors": [
            {"line": 2, "reason": "price: a price cannot be negative"},
            {"line": 4, "reason": "weight_grams: heavy is not a whole number"},
            {"line": 4, "reason": "active: maybe is not one of true, false, yes, no, 1, 0"},
            {"line": 5, "reason": "SKU TOMA-1KG is also on line 2"}]}}})
    assert catalog_rows(db) == before

    header = api.post(f"{V1}/products/import", headers=owner, json={"csv": "sku,name\r\n"})
    assert error_of(header) == (422, "invalid_csv")
    assert header.get_json()["error"]["details"]["errors"][0]["line"] == 1
    for body in ({"csv": 5}, {}, {"csv": ""}, {"csv": "x", "dry_run": True}):
        assert error_of(api.post(f"{V1}/products/import", headers=owner, json=body)) == (
            422, "invalid_body")
    assert catalog_rows(db) == before


# -- what every catalog read and write shares -----------------------------------------------------
def test_a_product_answer_has_an_etag_that_changes_with_the_product(api, db, store, owner):
    path = f"{V1}/products/{product_named(db, store, 'Onions').id}"
    first = api.get(path, headers=owner)
    etag = first.headers["ETag"]
    same = api.get(path, headers={**owner, "If-None-Match": etag})
    assert (same.status_code, same.get_data()) == (304, b"")
    listed = api.get(f"{V1}/products", headers=owner).headers["ETag"]

    api.patch(path, headers=owner, json={"description": "Red onions from Narok."})
    changed = api.get(path, headers={**owner, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.get_json()["description"] == "Red onions from Narok."
    assert api.get(f"{V1}/products", headers={**owner, "If-None-Match": listed}).status_code \
        == 200
    # a change below the product (a variant's price) changes it too
    etag = changed.headers["ETag"]
    api.patch(f"{V1}/variants/{variant_by_sku(db, store, 'ONIO-1KG').id}", headers=owner,
              json={"price": 11000})
    assert api.get(path, headers={**owner, "If-None-Match": etag}).status_code == 200


def test_query_strings_are_checked(api, owner):
    for query in ("active=maybe", "category_id=abc", "category_id=0", "colour=red", "limit=0",
                  "q=" + "x" * 121):
        assert error_of(api.get(f"{V1}/products?{query}", headers=owner)) == (
            422, "invalid_query"), query
    assert error_of(api.get(f"{V1}/products?cursor=bm9wZQ", headers=owner)) == (
        400, "bad_cursor")


def test_viewers_and_counter_staff_read_but_cannot_change_the_catalog(app, api, db, store):
    tomatoes = product_named(db, store, "Tomatoes")
    variant = variant_by_sku(db, store, "TOMA-1KG")
    fruits = category_named(db, store, "Fruits")
    deals = catalog.do_create_collection(db, store, "Deals")
    catalog.do_add_to_collection(db, store, deals.id, tomatoes.id)
    catalog.do_update_product(db, store, tomatoes.id, image_urls=["https://img.example/t.jpg"])
    image = tomatoes.images[0]
    writes = [
        ("post", "/products", KITENGE), ("patch", f"/products/{tomatoes.id}", {"name": "X"}),
        ("delete", f"/products/{tomatoes.id}", None),
        ("post", f"/products/{tomatoes.id}/variants",
         {"sku": "T-3", "price": 1, "option_values": {"Size": "3kg"}}),
        ("patch", f"/variants/{variant.id}", {"price": 1}),
        ("post", f"/products/{tomatoes.id}/images", {"url": "https://img.example/x.jpg"}),
        ("delete", f"/products/{tomatoes.id}/images/{image.id}", None),
        ("post", "/categories", {"name": "Toys"}),
        ("patch", f"/categories/{fruits.id}", {"name": "Matunda"}),
        ("post", f"/categories/{fruits.id}/move", {"parent_id": None}),
        ("delete", f"/categories/{fruits.id}", None),
        ("post", "/collections", {"name": "Toys"}),
        ("post", f"/collections/{deals.id}/products", {"product_id": variant.product_id}),
        ("put", f"/collections/{deals.id}/order", {"product_ids": [tomatoes.id]}),
        ("delete", f"/collections/{deals.id}/products/{tomatoes.id}", None),
    ]
    before = catalog_rows(db)
    for phone, role in (("+254711222444", "viewer"), ("+254711222555", "staff")):
        headers = bearer(app, add_staff(db, store, phone, role=role))
        for path in ("/products", f"/products/{tomatoes.id}", f"/variants/{variant.id}",
                     f"/products/{tomatoes.id}/images", "/categories", "/categories/tree",
                     f"/categories/{fruits.id}", "/collections", f"/collections/{deals.id}"):
            assert api.get(V1 + path, headers=headers).status_code == 200, (role, path)
        for method, path, body in writes:
            answer = getattr(api, method)(V1 + path, headers=headers, json=body)
            assert answer.get_json()["error"] == {
                "code": "forbidden", "message": "This needs the products:write permission.",
                "details": {}}, (role, method, path)
            assert answer.status_code == 403
    assert catalog_rows(db) == before


# -- tenancy --------------------------------------------------------------------------------------
def test_another_stores_catalog_is_out_of_reach(api, db, store, owner, other_store,
                                                other_owner):
    hardware = catalog.do_create_category(db, other_store, "Hardware")
    tools = catalog.do_create_category(db, other_store, "Tools", hardware.id)
    jembe = catalog.do_create_product(
        db, other_store, "Jembe", category_id=hardware.id,
        variants=[catalog.VariantInput("JEMB-1", 80000)],
        image_urls=["https://img.example/jembe.jpg"])
    their_variant, their_image = jembe.variants[0], jembe.images[0]
    shamba = catalog.do_create_collection(db, other_store, "Shamba")
    catalog.do_add_to_collection(db, other_store, shamba.id, jembe.id)

    tomatoes = product_named(db, store, "Tomatoes")
    fruits = category_named(db, store, "Fruits")
    ours = catalog.do_create_collection(db, store, "Deals")
    catalog.do_add_to_collection(db, store, ours.id, tomatoes.id)
    before = catalog_rows(db)

    attempts = [
        ("get", f"/products/{jembe.id}", None),
        ("patch", f"/products/{jembe.id}", {"name": "Mine now"}),
        ("patch", f"/products/{jembe.id}", {"active": False}),
        ("delete", f"/products/{jembe.id}", None),
        ("get", f"/products?category_id={hardware.id}", None),
        ("get", f"/products?collection_id={shamba.id}", None),
        ("post", "/products", {**KITENGE, "category_id": hardware.id}),
        ("patch", f"/products/{tomatoes.id}", {"category_id": hardware.id}),
        ("post", f"/products/{jembe.id}/variants", {"sku": "JEMB-2", "price": 1}),
        ("get", f"/variants/{their_variant.id}", None),
        ("patch", f"/variants/{their_variant.id}", {"price": 1}),
        ("get", f"/products/{jembe.id}/images", None),
        ("post", f"/products/{jembe.id}/images", {"url": "https://img.example/x.jpg"}),
        ("delete", f"/products/{jembe.id}/images/{their_image.id}", None),
        ("delete", f"/products/{tomatoes.id}/images/{their_image.id}", None),
        ("get", f"/categories/{hardware.id}", None),
        ("patch", f"/categories/{hardware.id}", {"name": "Mine now"}),
        ("post", f"/categories/{tools.id}/move", {"parent_id": None}),
        ("post", f"/categories/{fruits.id}/move", {"parent_id": hardware.id}),
        ("post", "/categories", {"name": "Spades", "parent_id": hardware.id}),
        ("delete", f"/categories/{tools.id}", None),
        ("get", f"/collections/{shamba.id}", None),
        ("post", f"/collections/{shamba.id}/products", {"product_id": tomatoes.id}),
        ("post", f"/collections/{ours.id}/products", {"product_id": jembe.id}),
        ("put", f"/collections/{shamba.id}/order", {"product_ids": [jembe.id]}),
        ("delete", f"/collections/{shamba.id}/products/{jembe.id}", None),
        ("delete", f"/collections/{ours.id}/products/{jembe.id}", None),
    ]
    for method, path, body in attempts:
        answer = getattr(api, method)(V1 + path, headers=owner, json=body)
        assert error_of(answer) == (404, "not_found"), (method, path)
    # exactly as a missing id is answered
    for kind in ("products", "variants", "categories", "collections"):
        theirs = {"products": jembe, "variants": their_variant, "categories": hardware,
                  "collections": shamba}[kind]
        assert api.get(f"{V1}/{kind}/{theirs.id}", headers=owner).get_json() == \
            api.get(f"{V1}/{kind}/999999", headers=owner).get_json()
    assert catalog_rows(db) == before

    # Their rows are in none of our lists, ours in none of theirs.
    listed = api.get(f"{V1}/products?limit=100", headers=owner).get_json()["items"]
    assert len(listed) == 31 and "Jembe" not in {p["name"] for p in listed}
    assert "Hardware" not in {c["name"] for c in api.get(
        f"{V1}/categories?limit=100", headers=owner).get_json()["items"]}
    assert "Hardware" not in {c["name"] for c in api.get(
        f"{V1}/categories/tree", headers=owner).get_json()["items"]}
    assert names(api.get(f"{V1}/collections", headers=owner).get_json()) == ["Deals"]
    assert names(api.get(f"{V1}/products", headers=other_owner).get_json()) == ["Jembe"]
    assert names(api.get(f"{V1}/collections", headers=other_owner).get_json()) == ["Shamba"]
    assert api.get(f"{V1}/products/{tomatoes.id}", headers=other_owner).status_code == 404

    # SKUs are per store: theirs is free for us.
    mine = api.post(f"{V1}/products", headers=owner,
                    json={"name": "Jembe", "variants": [{"sku": "JEMB-1", "price": 75000}]})
    assert mine.status_code == 201
    db.expire_all()
    assert their_variant.price == 80000 and their_variant.product.name == "Jembe"
