import pytest
from sqlalchemy import func, select

from commerce import catalog
from commerce.catalog import (
    CategoryNotEmpty,
    DuplicateSku,
    InvalidCategory,
    InvalidCollection,
    InvalidImage,
    InvalidPrice,
    InvalidProduct,
    InvalidVariant,
    VariantInput,
)
from commerce.errors import DomainError, NotFound
from commerce.models import Category, Product, ProductImage, Store, Variant
from tests.helpers import variant_by_sku


def count(db, model) -> int:
    return db.scalar(select(func.count(model.id)))


def category_named(db, store, name) -> Category:
    return db.scalar(select(Category).where(Category.store_id == store.id, Category.name == name))


def product_named(db, store, name) -> Product:
    return db.scalar(select(Product).where(Product.store_id == store.id, Product.name == name))


def kanga(db, store, **overrides) -> Product:
    """A two-option product: the kind of thing a fabric stall sells."""
    arguments = dict(
        name="Kanga", description="Cotton, printed in Mombasa", option_names=["Colour", "Size"],
        variants=[VariantInput("KANGA-RED-L", 80000, {"Colour": "Red", "Size": "L"}, 300),
                  VariantInput("KANGA-RED-XL", 90000, {"Colour": "Red", "Size": "XL"}, 350)],
        image_urls=["https://img.example/kanga-1.jpg", "https://img.example/kanga-2.jpg"],
    )
    arguments.update(overrides)
    return catalog.do_create_product(db, store, **arguments)


@pytest.fixture
def other_store(db):
    other = Store(slug="other", name="Other shop", currency="KES", country="KE")
    db.add(other)
    db.commit()
    return other


# -- products and variants ------------------------------------------------------------------------
def test_a_product_with_two_options_gets_named_variants_and_ordered_images(db, store):
    household = category_named(db, store, "Household")
    product = kanga(db, store, category_id=household.id)

    db.expire_all()
    product = catalog.get_product(db, store.id, product.id)
    assert product.name == "Kanga"
    assert product.category_id == household.id
    assert product.option_names == ["Colour", "Size"]
    assert [(v.sku, v.name, v.option_values, v.price, v.weight_grams)
            for v in product.variants] == [
        ("KANGA-RED-L", "Red / L", {"Colour": "Red", "Size": "L"}, 80000, 300),
        ("KANGA-RED-XL", "Red / XL", {"Colour": "Red", "Size": "XL"}, 90000, 350)]
    assert [image.url for image in product.images] == [
        "https://img.example/kanga-1.jpg", "https://img.example/kanga-2.jpg"]
    assert product.variants[1].title == "Kanga Red / XL"
    assert "Kanga" in [p.name for p in catalog.list_products(db, store.id)]


def test_a_product_without_options_has_one_variant_with_an_empty_name(db, store):
    product = catalog.do_create_product(db, store, "Jembe", variants=[VariantInput("JEMBE", 55000)])
    assert [(v.name, v.option_values, v.title) for v in product.variants] == [("", {}, "Jembe")]


def test_a_product_created_inactive_is_not_shown_to_shoppers(db, store):
    product = kanga(db, store, active=False)
    assert "Kanga" not in [p.name for p in catalog.list_products(db, store.id)]
    with pytest.raises(NotFound):
        catalog.get_product(db, store.id, product.id)


def test_a_sku_already_used_in_the_store_is_refused_and_nothing_is_created(db, store):
    products_before = count(db, Product)
    with pytest.raises(DuplicateSku) as error:
        catalog.do_create_product(db, store, "Cherry tomatoes",
                                  variants=[VariantInput("TOMA-1KG", 20000)])
    assert error.value.code == "duplicate_sku"
    assert error.value.message == "SKU TOMA-1KG is already used in this store."
    assert count(db, Product) == products_before


def test_the_same_sku_twice_in_one_product_is_refused(db, store):
    with pytest.raises(DuplicateSku):
        catalog.do_create_product(db, store, "Kanga", option_names=["Size"], variants=[
            VariantInput("KANGA", 80000, {"Size": "L"}),
            VariantInput("KANGA", 90000, {"Size": "XL"})])
    assert product_named(db, store, "Kanga") is None


def test_another_store_may_use_the_same_sku(db, store, other_store):
    product = catalog.do_create_product(db, other_store, "Tomatoes",
                                        variants=[VariantInput("TOMA-1KG", 15000)])
    assert product.variants[0].store_id == other_store.id
    assert variant_by_sku(db, store, "TOMA-1KG").price == 12000


@pytest.mark.parametrize("price", [120.5, 120.0, -1, True, "12000", None, 2**31])
def test_a_price_must_be_whole_non_negative_minor_units(db, store, price):
    products_before = count(db, Product)
    with pytest.raises(InvalidPrice) as error:
        catalog.do_create_product(db, store, "Jembe", variants=[VariantInput("JEMBE", price)])
    assert error.value.code == "invalid_price"
    assert count(db, Product) == products_before


def test_a_free_item_is_allowed(db, store):
    product = catalog.do_create_product(db, store, "Carrier bag",
                                        variants=[VariantInput("BAG", 0)])
    assert product.variants[0].price == 0


@pytest.mark.parametrize("values", [
    {"Colour": "Red"},  # a missing option
    {"Colour": "Red", "Size": "L", "Material": "Cotton"},  # an unknown option
    {"Colour": "Red", "Size": "  "},  # an empty value
])
def test_each_variant_needs_exactly_the_products_options(db, store, values):
    with pytest.raises(InvalidVariant) as error:
        catalog.do_create_product(db, store, "Kanga", option_names=["Colour", "Size"],
                                  variants=[VariantInput("KANGA", 80000, values)])
    assert error.value.code == "invalid_variant"
    assert product_named(db, store, "Kanga") is None


def test_two_variants_with_the_same_options_are_refused(db, store):
    with pytest.raises(InvalidVariant) as error:
        catalog.do_create_product(db, store, "Kanga", option_names=["Size"], variants=[
            VariantInput("KANGA-L", 80000, {"Size": "L"}),
            VariantInput("KANGA-L2", 85000, {"Size": "L"})])
    assert error.value.message == "Two variants have the same options (L)."
    assert variant_by_sku(db, store, "KANGA-L") is None


@pytest.mark.parametrize("arguments, code", [
    (dict(name="  "), "invalid_product"),
    (dict(name="x" * 121), "invalid_product"),
    (dict(option_names=["Size", "size"]), "invalid_product"),
    (dict(option_names=["Size", "Colour", "Material"]), "invalid_product"),
    (dict(variants=[]), "invalid_product"),
])
def test_bad_products_are_refused(db, store, arguments, code):
    products_before = count(db, Product)
    with pytest.raises(DomainError) as error:
        kanga(db, store, **arguments)
    assert error.value.code == code
    assert count(db, Product) == products_before


@pytest.mark.parametrize("url", [
    "ftp://img.example/a.jpg", "javascript:alert(1)", "img.example/a.jpg",
    "https://img.example/a b.jpg", "https://img.example/" + "a" * 481,
])
def test_image_urls_must_be_http_web_addresses_of_at_most_500_characters(db, store, url):
    with pytest.raises(InvalidImage):
        kanga(db, store, image_urls=[url])
    assert count(db, ProductImage) == 0


def test_an_image_url_of_exactly_500_characters_is_fine(db, store):
    url = "https://img.example/" + "a" * 480
    assert [image.url for image in kanga(db, store, image_urls=[url]).images] == [url]


def test_updating_a_product_changes_only_what_is_given(db, store):
    product = kanga(db, store)
    fruits = category_named(db, store, "Fruits")

    catalog.do_update_product(db, store, product.id, name="Kanga ya Pwani",
                              category_id=fruits.id,
                              image_urls=["https://img.example/kanga-2.jpg"])

    db.expire_all()
    product = db.get(Product, product.id)
    assert (product.name, product.category_id, product.description) == (
        "Kanga ya Pwani", fruits.id, "Cotton, printed in Mombasa")
    assert [image.url for image in product.images] == ["https://img.example/kanga-2.jpg"]
    assert count(db, ProductImage) == 1
    catalog.do_update_product(db, store, product.id, category_id=None)
    assert db.get(Product, product.id).category_id is None


def test_renaming_options_keeps_each_variants_values(db, store):
    product = kanga(db, store)
    catalog.do_update_product(db, store, product.id, option_names=["Rangi", "Saizi"])
    db.expire_all()
    assert [(v.option_values, v.name) for v in db.get(Product, product.id).variants] == [
        ({"Rangi": "Red", "Saizi": "L"}, "Red / L"), ({"Rangi": "Red", "Saizi": "XL"}, "Red / XL")]


def test_adding_or_removing_an_option_on_an_existing_product_is_refused(db, store):
    tomatoes = product_named(db, store, "Tomatoes")
    with pytest.raises(InvalidProduct):
        catalog.do_update_product(db, store, tomatoes.id, option_names=["Size", "Ripeness"])
    db.expire_all()
    assert db.get(Product, tomatoes.id).option_names == ["Size"]


def test_a_failed_update_changes_nothing(db, store):
    tomatoes = product_named(db, store, "Tomatoes")
    with pytest.raises(InvalidImage):
        catalog.do_update_product(db, store, tomatoes.id, name="Nyanya", image_urls=["nope"])
    db.expire_all()
    assert db.get(Product, tomatoes.id).name == "Tomatoes"


def test_adding_a_variant_names_it_from_its_options(db, store):
    tomatoes = product_named(db, store, "Tomatoes")
    variant = catalog.do_add_variant(db, store, tomatoes.id,
                                     VariantInput("TOMA-2KG", 23000, {"Size": "2kg"}, 2000))
    assert (variant.name, variant.title, variant.price) == ("2kg", "Tomatoes 2kg", 23000)
    assert catalog.get_variant(db, store.id, variant.id).sku == "TOMA-2KG"


def test_adding_a_variant_that_looks_like_an_existing_one_is_refused(db, store):
    tomatoes = product_named(db, store, "Tomatoes")
    with pytest.raises(InvalidVariant) as error:
        catalog.do_add_variant(db, store, tomatoes.id,
                               VariantInput("TOMA-1KG-B", 11000, {"Size": "1kg"}))
    assert error.value.message == "Tomatoes already has a variant 1kg (SKU TOMA-1KG)."
    assert variant_by_sku(db, store, "TOMA-1KG-B") is None


def test_a_product_without_options_cannot_get_a_second_variant(db, store):
    cabbage = product_named(db, store, "Cabbage")
    with pytest.raises(InvalidVariant):
        catalog.do_add_variant(db, store, cabbage.id, VariantInput("CABB-2", 6000))


def test_updating_a_variant_price_sku_options_weight(db, store):
    variant = variant_by_sku(db, store, "TOMA-500G")
    catalog.do_update_variant(db, store, variant.id, price=7000, sku="TOMA-HALF",
                              option_values={"Size": "half kg"}, weight_grams=500)
    db.expire_all()
    variant = db.get(Variant, variant.id)
    assert (variant.sku, variant.price, variant.name, variant.option_values,
            variant.weight_grams) == ("TOMA-HALF", 7000, "half kg", {"Size": "half kg"}, 500)


def test_a_variant_cannot_take_a_sku_or_options_already_used(db, store):
    variant = variant_by_sku(db, store, "TOMA-500G")
    with pytest.raises(DuplicateSku):
        catalog.do_update_variant(db, store, variant.id, sku="ONIO-1KG")
    with pytest.raises(InvalidVariant):
        catalog.do_update_variant(db, store, variant.id, option_values={"Size": "1kg"})
    with pytest.raises(InvalidPrice):
        catalog.do_update_variant(db, store, variant.id, price=65.5)
    db.expire_all()
    variant = db.get(Variant, variant.id)
    assert (variant.sku, variant.name, variant.price) == ("TOMA-500G", "500g", 6500)


def test_keeping_its_own_sku_is_not_a_duplicate(db, store):
    variant = variant_by_sku(db, store, "TOMA-500G")
    catalog.do_update_variant(db, store, variant.id, sku="TOMA-500G", price=6000)
    assert variant_by_sku(db, store, "TOMA-500G").price == 6000


def test_a_variant_taken_off_sale_cannot_be_bought_but_its_siblings_can(db, store):
    half = variant_by_sku(db, store, "TOMA-500G")
    catalog.do_update_variant(db, store, half.id, active=False)
    with pytest.raises(NotFound):
        catalog.get_variant(db, store.id, half.id)
    assert catalog.get_variant(db, store.id, variant_by_sku(db, store, "TOMA-1KG").id)
    catalog.do_update_variant(db, store, half.id, active=True)
    assert catalog.get_variant(db, store.id, half.id).sku == "TOMA-500G"


def test_a_product_taken_off_sale_disappears_for_shoppers_and_comes_back(db, store):
    tomatoes = product_named(db, store, "Tomatoes")
    catalog.do_set_product_active(db, store, tomatoes.id, False)
    assert "Tomatoes" not in [p.name for p in catalog.list_products(db, store.id)]
    with pytest.raises(NotFound):
        catalog.get_variant(db, store.id, variant_by_sku(db, store, "TOMA-1KG").id)
    assert len(catalog.list_products(db, store.id)) == 30

    catalog.do_set_product_active(db, store, tomatoes.id, True)
    assert catalog.get_product(db, store.id, tomatoes.id).name == "Tomatoes"
    assert len(catalog.list_products(db, store.id)) == 31


# -- categories -----------------------------------------------------------------------------------
def test_nested_categories_form_a_tree_in_display_order(db, store):
    fruits = category_named(db, store, "Fruits")
    citrus = catalog.do_create_category(db, store, "Citrus", parent_id=fruits.id)
    tropical = catalog.do_create_category(db, store, "Tropical", parent_id=fruits.id)
    limes = catalog.do_create_category(db, store, "Limes", parent_id=citrus.id)

    tree = catalog.category_tree(db, store.id)

    assert [node["name"] for node in tree] == [
        "Vegetables", "Fruits", "Grains & Flour", "Dairy & Eggs", "Household"]
    assert tree[1] == {"id": fruits.id, "name": "Fruits", "position": 1, "children": [
        {"id": citrus.id, "name": "Citrus", "position": 0, "children": [
            {"id": limes.id, "name": "Limes", "position": 0, "children": []}]},
        {"id": tropical.id, "name": "Tropical", "position": 1, "children": []}]}


def test_a_category_name_is_used_once_per_store(db, store, other_store):
    with pytest.raises(InvalidCategory) as error:
        catalog.do_create_category(db, store, "Fruits")
    assert error.value.message == "There is already a category called Fruits."
    vegetables = category_named(db, store, "Vegetables")
    with pytest.raises(InvalidCategory):
        catalog.do_rename_category(db, store, vegetables.id, "Fruits")
    assert catalog.do_create_category(db, other_store, "Fruits").store_id == other_store.id


def test_renaming_a_category(db, store):
    vegetables = category_named(db, store, "Vegetables")
    catalog.do_rename_category(db, store, vegetables.id, "Mboga")
    assert catalog.category_tree(db, store.id)[0]["name"] == "Mboga"


def test_moving_a_category_under_another_and_back_to_the_top(db, store):
    fruits = category_named(db, store, "Fruits")
    dairy = category_named(db, store, "Dairy & Eggs")
    catalog.do_move_category(db, store, dairy.id, fruits.id)
    assert [child["name"] for child in catalog.category_tree(db, store.id)[1]["children"]] == [
        "Dairy & Eggs"]

    catalog.do_move_category(db, store, dairy.id, None)
    assert [node["name"] for node in catalog.category_tree(db, store.id)] == [
        "Vegetables", "Fruits", "Grains & Flour", "Household", "Dairy & Eggs"]  # at the end


def test_a_category_cannot_move_inside_itself_or_its_own_subcategory(db, store):
    fruits = category_named(db, store, "Fruits")
    citrus = catalog.do_create_category(db, store, "Citrus", parent_id=fruits.id)
    limes = catalog.do_create_category(db, store, "Limes", parent_id=citrus.id)
    for new_parent in (fruits, limes):
        with pytest.raises(InvalidCategory) as error:
            catalog.do_move_category(db, store, fruits.id, new_parent.id)
        assert error.value.code == "invalid_category"
    db.expire_all()
    assert db.get(Category, fruits.id).parent_id is None


def test_only_an_empty_category_can_be_deleted(db, store):
    fruits = category_named(db, store, "Fruits")
    with pytest.raises(CategoryNotEmpty) as error:
        catalog.do_delete_category(db, store, fruits.id)
    assert error.value.details == {"products": 7, "subcategories": 0}

    empty = catalog.do_create_category(db, store, "Snacks")
    child = catalog.do_create_category(db, store, "Crisps", parent_id=empty.id)
    with pytest.raises(CategoryNotEmpty):
        catalog.do_delete_category(db, store, empty.id)
    catalog.do_delete_category(db, store, child.id)
    catalog.do_delete_category(db, store, empty.id)
    assert category_named(db, store, "Snacks") is None
    assert category_named(db, store, "Fruits") is not None


def test_products_in_a_category_include_its_subcategories_unless_asked_not_to(db, store):
    fruits = category_named(db, store, "Fruits")
    citrus = catalog.do_create_category(db, store, "Citrus", parent_id=fruits.id)
    oranges = product_named(db, store, "Oranges")
    catalog.do_update_product(db, store, oranges.id, category_id=citrus.id)
    catalog.do_set_product_active(db, store, product_named(db, store, "Mangoes").id, False)

    everything = [p.name for p in catalog.products_in_category(db, store.id, fruits.id)]
    only_fruits = [p.name for p in catalog.products_in_category(
        db, store.id, fruits.id, include_descendants=False)]

    assert everything == ["Avocados", "Bananas", "Oranges", "Passion fruit", "Pineapple",
                          "Watermelon"]
    assert only_fruits == ["Avocados", "Bananas", "Passion fruit", "Pineapple", "Watermelon"]
    assert [p.name for p in catalog.products_in_category(db, store.id, citrus.id)] == ["Oranges"]


# -- collections ----------------------------------------------------------------------------------
def test_a_collection_lists_its_products_in_the_merchants_order(db, store):
    offers = catalog.do_create_collection(db, store, "Weekend offers")
    names = ["Mangoes", "Rice", "Eggs"]
    ids = [product_named(db, store, name).id for name in names]
    for product_id in ids:
        catalog.do_add_to_collection(db, store, offers.id, product_id)
    catalog.do_add_to_collection(db, store, offers.id, ids[0])  # twice: still once

    assert [p.name for p in catalog.collection_products(db, store.id, offers.id)] == names

    catalog.do_reorder_collection(db, store, offers.id, [ids[2], ids[0], ids[1]])
    assert [p.name for p in catalog.collection_products(db, store.id, offers.id)] == [
        "Eggs", "Mangoes", "Rice"]

    catalog.do_remove_from_collection(db, store, offers.id, ids[0])
    assert [p.name for p in catalog.collection_products(db, store.id, offers.id)] == [
        "Eggs", "Rice"]
    assert [c.name for c in catalog.list_collections(db, store.id)] == ["Weekend offers"]


def test_shoppers_do_not_see_inactive_products_in_a_collection_but_the_merchant_does(db, store):
    offers = catalog.do_create_collection(db, store, "Weekend offers")
    mangoes, rice = product_named(db, store, "Mangoes"), product_named(db, store, "Rice")
    catalog.do_add_to_collection(db, store, offers.id, mangoes.id)
    catalog.do_add_to_collection(db, store, offers.id, rice.id)
    catalog.do_set_product_active(db, store, mangoes.id, False)

    assert [p.name for p in catalog.collection_products(db, store.id, offers.id)] == ["Rice"]
    assert [p.name for p in catalog.collection_products(
        db, store.id, offers.id, include_inactive=True)] == ["Mangoes", "Rice"]


def test_an_inactive_collection_is_hidden_from_shoppers(db, store):
    hidden = catalog.do_create_collection(db, store, "Coming soon", active=False)
    assert catalog.list_collections(db, store.id) == []
    with pytest.raises(NotFound):
        catalog.collection_products(db, store.id, hidden.id)
    assert catalog.collection_products(db, store.id, hidden.id, include_inactive=True) == []


def test_reordering_must_list_every_product_exactly_once(db, store):
    offers = catalog.do_create_collection(db, store, "Weekend offers")
    a, b = product_named(db, store, "Mangoes").id, product_named(db, store, "Rice").id
    catalog.do_add_to_collection(db, store, offers.id, a)
    catalog.do_add_to_collection(db, store, offers.id, b)
    for bad in ([b], [b, b], [b, a, product_named(db, store, "Eggs").id]):
        with pytest.raises(InvalidCollection):
            catalog.do_reorder_collection(db, store, offers.id, bad)
    assert [p.id for p in catalog.collection_products(db, store.id, offers.id)] == [a, b]


def test_collection_names_are_unique_per_store(db, store):
    catalog.do_create_collection(db, store, "Weekend offers")
    with pytest.raises(InvalidCollection):
        catalog.do_create_collection(db, store, "Weekend offers")


def test_removing_a_product_not_in_the_collection_is_not_found(db, store):
    offers = catalog.do_create_collection(db, store, "Weekend offers")
    with pytest.raises(NotFound):
        catalog.do_remove_from_collection(db, store, offers.id, product_named(db, store, "Rice").id)


# -- tenancy: another store's ids are never found -------------------------------------------------
def _foreign_things(db, other_store):
    category = catalog.do_create_category(db, other_store, "Theirs")
    product = catalog.do_create_product(db, other_store, "Their thing", category_id=category.id,
                                        variants=[VariantInput("THEIRS", 100)])
    collection = catalog.do_create_collection(db, other_store, "Their offers")
    catalog.do_add_to_collection(db, other_store, collection.id, product.id)
    return category, product, product.variants[0], collection


ACROSS_STORES = {
    "get_product": lambda db, s, c, p, v, k: catalog.get_product(db, s.id, p.id),
    "find_product": lambda db, s, c, p, v, k: catalog.find_product(db, s.id, p.id),
    "get_variant": lambda db, s, c, p, v, k: catalog.get_variant(db, s.id, v.id),
    "create_product_in_category": lambda db, s, c, p, v, k: catalog.do_create_product(
        db, s, "Mine", category_id=c.id, variants=[VariantInput("MINE", 100)]),
    "update_product": lambda db, s, c, p, v, k: catalog.do_update_product(
        db, s, p.id, name="Stolen"),
    "move_product_to_category": lambda db, s, c, p, v, k: catalog.do_update_product(
        db, s, catalog.list_products(db, s.id)[0].id, category_id=c.id),
    "set_product_active": lambda db, s, c, p, v, k: catalog.do_set_product_active(
        db, s, p.id, False),
    "add_variant": lambda db, s, c, p, v, k: catalog.do_add_variant(
        db, s, p.id, VariantInput("MINE", 100)),
    "update_variant": lambda db, s, c, p, v, k: catalog.do_update_variant(db, s, v.id, price=1),
    "create_subcategory": lambda db, s, c, p, v, k: catalog.do_create_category(
        db, s, "Mine", parent_id=c.id),
    "rename_category": lambda db, s, c, p, v, k: catalog.do_rename_category(db, s, c.id, "X"),
    "move_category": lambda db, s, c, p, v, k: catalog.do_move_category(db, s, c.id, None),
    "move_category_into_theirs": lambda db, s, c, p, v, k: catalog.do_move_category(
        db, s, db.scalar(select(Category.id).where(Category.store_id == s.id)), c.id),
    "delete_category": lambda db, s, c, p, v, k: catalog.do_delete_category(db, s, c.id),
    "products_in_category": lambda db, s, c, p, v, k: catalog.products_in_category(
        db, s.id, c.id),
    "collection_products": lambda db, s, c, p, v, k: catalog.collection_products(
        db, s.id, k.id, include_inactive=True),
    "add_their_product_to_collection": lambda db, s, c, p, v, k: catalog.do_add_to_collection(
        db, s, catalog.do_create_collection(db, s, "Mine").id, p.id),
    "add_to_their_collection": lambda db, s, c, p, v, k: catalog.do_add_to_collection(
        db, s, k.id, catalog.list_products(db, s.id)[0].id),
    "remove_from_collection": lambda db, s, c, p, v, k: catalog.do_remove_from_collection(
        db, s, k.id, p.id),
    "reorder_collection": lambda db, s, c, p, v, k: catalog.do_reorder_collection(
        db, s, k.id, [p.id]),
}


@pytest.mark.parametrize("action", list(ACROSS_STORES))
def test_another_stores_catalog_cannot_be_read_or_changed(db, store, other_store, action):
    category, product, variant, collection = _foreign_things(db, other_store)
    with pytest.raises(NotFound):
        ACROSS_STORES[action](db, store, category, product, variant, collection)
    db.expire_all()
    assert db.get(Product, product.id).name == "Their thing"
    assert db.get(Product, product.id).active is True
    assert db.get(Variant, variant.id).price == 100
    assert (db.get(Category, category.id).name, db.get(Category, category.id).parent_id) == (
        "Theirs", None)
    assert [p.id for p in catalog.collection_products(db, other_store.id, collection.id)] == [
        product.id]
    assert catalog.category_tree(db, other_store.id) == [
        {"id": category.id, "name": "Theirs", "position": 0, "children": []}]


def test_the_category_tree_and_collections_are_per_store(db, store, other_store):
    _foreign_things(db, other_store)
    assert "Theirs" not in [node["name"] for node in catalog.category_tree(db, store.id)]
    assert catalog.list_collections(db, store.id) == []


def test_a_product_whose_every_variant_is_off_sale_is_not_listed(db, store):
    from commerce import catalog as shop_catalog

    tomatoes = variant_by_sku(db, store, "TOMA-1KG").product
    for variant in tomatoes.variants:
        shop_catalog.do_update_variant(db, store, variant.id, active=False)
    names = [p.name for p in shop_catalog.list_products(db, store.id)]
    assert "Tomatoes" not in names and "Onions" in names
