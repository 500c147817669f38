import csv
import io

import pytest
from sqlalchemy import func, select

from commerce import catalog
from commerce.catalog_csv import (
    CatalogImportError,
    export_catalog_csv,
    import_catalog_csv,
)
from commerce.errors import NotFound
from commerce.models import (
    Category,
    Location,
    Product,
    ProductImage,
    Stock,
    StockMovement,
    Store,
    Variant,
)
from tests.helpers import on_hand, variant_by_sku

HEADER = ("sku,product,category,description,option1_name,option1_value,option2_name,"
          "option2_value,price,weight_grams,active,stock,image_urls")


def csv_text(*lines: str) -> str:
    return "\r\n".join((HEADER,) + lines) + "\r\n"


def edited(text: str, sku: str, **cells) -> str:
    """The export with some cells of one SKU's row changed, as a merchant's spreadsheet would."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=reader.fieldnames)
    writer.writeheader()
    for row in reader:
        writer.writerow({**row, **cells} if row["sku"] == sku else row)
    return out.getvalue()


def count(db, model) -> int:
    return db.scalar(select(func.count(model.id)))


def snapshot(db, store) -> tuple:
    """Everything an import could change, to prove a refused one changed none of it."""
    db.expire_all()
    return (export_catalog_csv(db, store), count(db, Category), count(db, Product),
            count(db, Variant), count(db, ProductImage), count(db, StockMovement))


def refused(db, store, text: str) -> list[dict]:
    before = snapshot(db, store)
    with pytest.raises(CatalogImportError) as error:
        import_catalog_csv(db, store, text)
    assert error.value.code == "invalid_csv"
    assert snapshot(db, store) == before
    return error.value.details["errors"]


# -- export ---------------------------------------------------------------------------------------
def test_export_has_one_row_per_variant_with_prices_in_shillings(db, store):
    lines = export_catalog_csv(db, store).split("\r\n")
    assert lines[0] == HEADER
    assert len(lines) == 1 + 38 + 1  # header, the demo store's 38 variants, the final newline
    assert lines[1:4] == [
        "SUKU-WIKI-BUNC,Sukuma wiki,Vegetables,,,,,,30.00,0,true,120,",
        "TOMA-1KG,Tomatoes,Vegetables,,Size,1kg,,,120.00,0,true,80,",
        "TOMA-500G,Tomatoes,Vegetables,,Size,500g,,,65.00,0,true,60,",
    ]
    assert "PINE,Pineapple,Fruits,,,,,,120.00,0,true,0," in lines
    assert "EGGS-TRAY-OF-30,Eggs,Dairy & Eggs,,Size,tray of 30,,,450.00,0,true,15," in lines


def test_export_quotes_what_needs_quoting(db, store):
    catalog.do_create_product(db, store, 'Kanga, "Pwani"', description="Cotton.\nMade in Mombasa",
                              option_names=["Colour", "Size"],
                              variants=[catalog.VariantInput("KANGA-R-L", 80050,
                                                             {"Colour": "Red", "Size": "L"}, 300)],
                              image_urls=["https://img.example/1.jpg", "https://img.example/2.jpg"])
    assert export_catalog_csv(db, store).endswith(
        'KANGA-R-L,"Kanga, ""Pwani""",,"Cotton.\nMade in Mombasa",Colour,Red,Size,L,800.50,300,'
        'true,0,https://img.example/1.jpg https://img.example/2.jpg\r\n')


def test_exporting_then_importing_the_same_file_changes_nothing(db, store):
    catalog.do_create_product(db, store, "Kanga", description="Cotton", category_id=None,
                              option_names=["Colour", "Size"],
                              image_urls=["https://img.example/k.jpg"],
                              variants=[catalog.VariantInput("KANGA-R-L", 80050,
                                                             {"Colour": "Red", "Size": "L"}, 300),
                                        catalog.VariantInput("KANGA-R-XL", 90000,
                                                             {"Colour": "Red", "Size": "XL"},
                                                             active=False)])
    catalog.do_set_product_active(db, store, db.scalar(
        select(Product.id).where(Product.name == "Butter")), False)
    text = export_catalog_csv(db, store)
    updated_before = dict(db.execute(select(Product.id, Product.updated_at)).all())
    before = snapshot(db, store)

    report = import_catalog_csv(db, store, text)

    assert report.rows == 40
    assert not report.changed
    assert snapshot(db, store) == before
    assert export_catalog_csv(db, store) == text
    assert dict(db.execute(select(Product.id, Product.updated_at)).all()) == updated_before
    butter = db.scalar(select(Product).where(Product.name == "Butter"))
    assert butter.active is False and butter.variants[0].active is True  # not switched off


# -- import: what it changes ----------------------------------------------------------------------
def test_importing_new_rows_creates_products_options_categories_images_and_stock(db, store):
    report = import_catalog_csv(db, store, csv_text(
        "KANGA-R-L,Kanga,Textiles,Cotton,Colour,Red,Size,L,800.50,300,true,12,"
        "https://img.example/1.jpg https://img.example/2.jpg",
        "KANGA-R-XL,Kanga,Textiles,Cotton,Colour,Red,Size,XL,900,350,yes,,"
        "https://img.example/1.jpg https://img.example/2.jpg",
    ), actor="merchant:+254700123456")

    assert (report.rows, report.products_created, report.variants_created,
            report.categories_created, report.stock_adjusted) == (2, 1, 2, 1, 1)
    product = db.scalar(select(Product).where(Product.name == "Kanga"))
    textiles = db.scalar(select(Category).where(Category.name == "Textiles"))
    assert (product.store_id, product.category_id, product.description, product.option_names,
            product.active) == (store.id, textiles.id, "Cotton", ["Colour", "Size"], True)
    assert [(v.sku, v.name, v.price, v.weight_grams) for v in product.variants] == [
        ("KANGA-R-L", "Red / L", 80050, 300), ("KANGA-R-XL", "Red / XL", 90000, 350)]
    assert [image.url for image in product.images] == [
        "https://img.example/1.jpg", "https://img.example/2.jpg"]
    assert on_hand(db, "KANGA-R-L") == 12
    assert on_hand(db, "KANGA-R-XL") is None  # no stock given: none counted
    movement = db.scalar(select(StockMovement).order_by(StockMovement.id.desc()))
    assert (movement.delta, movement.quantity_after, movement.reason, movement.actor) == (
        12, 12, "correction", "merchant:+254700123456")
    assert catalog.category_tree(db, store.id)[-1]["name"] == "Textiles"


def test_importing_an_edited_export_updates_prices_and_corrects_stock_by_the_difference(
        db, store):
    text = edited(export_catalog_csv(db, store), "TOMA-1KG", price="125.50", stock="100")
    text = edited(text, "MANA-BUNC", stock="0")

    report = import_catalog_csv(db, store, text)

    assert (report.variants_updated, report.stock_adjusted, report.products_created) == (1, 2, 0)
    assert variant_by_sku(db, store, "TOMA-1KG").price == 12550
    assert variant_by_sku(db, store, "TOMA-500G").price == 6500
    assert on_hand(db, "TOMA-1KG") == 100
    assert on_hand(db, "MANA-BUNC") == 0
    deltas = db.execute(select(Variant.sku, StockMovement.delta, StockMovement.reason)
                        .join(Stock, Stock.id == StockMovement.stock_id)
                        .join(Variant, Variant.id == Stock.variant_id)
                        .order_by(Variant.sku)).all()
    assert [tuple(row) for row in deltas] == [("MANA-BUNC", -3, "correction"),
                                              ("TOMA-1KG", 20, "correction")]


def test_a_new_sku_under_an_existing_product_name_becomes_its_variant(db, store):
    import_catalog_csv(db, store, csv_text(
        "TOMA-2KG,Tomatoes,Vegetables,,Size,2kg,,,230.00,2000,true,5,"))
    tomatoes = db.scalar(select(Product).where(Product.name == "Tomatoes"))
    assert [v.name for v in tomatoes.variants] == ["1kg", "500g", "2kg"]
    assert db.scalar(select(func.count(Product.id)).where(Product.name == "Tomatoes")) == 1


def test_a_row_marked_inactive_takes_the_variant_off_sale(db, store):
    import_catalog_csv(db, store, edited(export_catalog_csv(db, store), "TOMA-500G",
                                         active="false"))
    with pytest.raises(NotFound):
        catalog.get_variant(db, store.id, variant_by_sku(db, store, "TOMA-500G").id)
    assert catalog.get_variant(db, store.id, variant_by_sku(db, store, "TOMA-1KG").id)


def test_renaming_a_product_by_giving_all_its_rows_a_new_name(db, store):
    text = edited(export_catalog_csv(db, store), "TOMA-1KG", product="Nyanya")
    import_catalog_csv(db, store, edited(text, "TOMA-500G", product="Nyanya"))
    assert variant_by_sku(db, store, "TOMA-500G").title == "Nyanya 500g"
    assert db.scalar(select(Product).where(Product.name == "Tomatoes")) is None


def test_a_product_can_get_a_second_option_when_every_sku_is_listed(db, store):
    import_catalog_csv(db, store, csv_text(
        "TOMA-1KG,Tomatoes,Vegetables,,Size,1kg,Ripeness,Ripe,120.00,0,true,,",
        "TOMA-500G,Tomatoes,Vegetables,,Size,500g,Ripeness,Ripe,65.00,0,true,,",
        "TOMA-1KG-G,Tomatoes,Vegetables,,Size,1kg,Ripeness,Green,100.00,0,true,,",
    ))
    tomatoes = db.scalar(select(Product).where(Product.name == "Tomatoes"))
    assert tomatoes.option_names == ["Size", "Ripeness"]
    assert [v.name for v in tomatoes.variants] == ["1kg / Ripe", "500g / Ripe", "1kg / Green"]


def test_stock_left_out_is_not_touched(db, store):
    no_stock_header = HEADER.replace(",stock", "")
    import_catalog_csv(db, store, no_stock_header + "\n" +
                       "TOMA-1KG,Tomatoes,Vegetables,,Size,1kg,,,99.00,0,true,\n")
    assert variant_by_sku(db, store, "TOMA-1KG").price == 9900
    assert on_hand(db, "TOMA-1KG") == 80
    assert count(db, StockMovement) == 0


def test_a_spreadsheet_byte_order_mark_and_blank_lines_are_fine(db, store):
    report = import_catalog_csv(db, store, "\ufeff" + HEADER + "\n\n" +
                                "CABB,Cabbage,Vegetables,,,,,,65,0,TRUE,40,\n\n")
    assert report.variants_updated == 1
    assert variant_by_sku(db, store, "CABB").price == 6500


def test_prices_are_read_in_the_stores_currency_units(db):
    shop = Store(slug="kampala", name="Kampala Fresh", currency="UGX", country="UG")
    db.add(shop)
    db.flush()
    db.add(Location(store_id=shop.id, name="Nakasero"))
    db.commit()

    import_catalog_csv(db, shop, csv_text("MATOKE,Matooke,,,,,,,15000,0,true,3,"))

    assert variant_by_sku(db, shop, "MATOKE").price == 15000
    assert on_hand(db, "MATOKE") == 3
    assert export_catalog_csv(db, shop).split("\r\n")[1] == "MATOKE,Matooke,,,,,,,15000,0,true,3,"
    assert refused(db, shop, csv_text("MATOKE,Matooke,,,,,,,100.5,0,true,,")) == [
        {"line": 2, "reason": "price: 100.5 has more decimals than UGX allows (0)"}]


# -- import: all or nothing -----------------------------------------------------------------------
def test_a_file_with_bad_rows_reports_every_problem_and_applies_nothing(db, store):
    errors = refused(db, store, csv_text(
        "TOMA-1KG,Tomatoes,Vegetables,,Size,1kg,,,150.00,0,true,90,",  # fine on its own
        "SNACK-1,Crisps,Snacks,,,,,,12.345,0,true,5,",
        "SNACK-2,Peanuts,Snacks,,,,,,50,heavy,maybe,-3,ftp://img.example/p.jpg",
        "TOMA-1KG,Tomatoes,Vegetables,,Size,1kg,,,150.00,0,true,90,",
        "SNACK-3,Biscuits,Snacks,,,,,,40,0,true,2.5,",
        ",,Snacks,,,,,,abc,0,true,,",
        "SNACK-4,Chapati,Snacks,,,,,,30,0,true",
    ))
    assert errors == [
        {"line": 3, "reason": "price: 12.345 has more decimals than KES allows (2)"},
        {"line": 4, "reason": "weight_grams: heavy is not a whole number"},
        {"line": 4, "reason": "active: maybe is not one of true, false, yes, no, 1, 0"},
        {"line": 4, "reason": "stock: cannot be negative"},
        {"line": 4, "reason": "image_urls: An image URL must be a web address starting with "
                              "http:// or https://, not ftp://img.example/p.jpg."},
        {"line": 5, "reason": "SKU TOMA-1KG is also on line 2"},
        {"line": 6, "reason": "stock: 2.5 is not a whole number"},
        {"line": 7, "reason": "sku: A SKU cannot be empty."},
        {"line": 7, "reason": "product: A product name cannot be empty."},
        {"line": 7, "reason": "price: abc is not a price like 120.00"},
        {"line": 8, "reason": "expected 13 fields, found 11"},
    ]
    assert variant_by_sku(db, store, "TOMA-1KG").price == 12000
    assert db.scalar(select(Category).where(Category.name == "Snacks")) is None


@pytest.mark.parametrize("cell, reason", [
    ("-5", "price: a price cannot be negative"),
    ('"1,200"', "price: 1,200 is not a price like 120.00"),
    ("1e3", "price: 1e3 is not a price like 120.00"),
    ("", "price: an empty cell is not a price like 120.00"),
    ("21474836.48", "price: A price (in cents) is too large."),
])
def test_prices_that_are_not_plain_shillings_and_cents_are_refused(db, store, cell, reason):
    assert refused(db, store, csv_text(f"CABB,Cabbage,Vegetables,,,,,,{cell},0,true,,")) == [
        {"line": 2, "reason": reason}]


def test_a_price_with_trailing_zeros_is_still_exact(db, store):
    import_catalog_csv(db, store, csv_text("CABB,Cabbage,Vegetables,,,,,,65.500,0,true,,"))
    assert variant_by_sku(db, store, "CABB").price == 6550


@pytest.mark.parametrize("header, reasons", [
    (HEADER.replace("sku,", ""), ["missing column(s): sku"]),
    (HEADER + ",colour", ["unknown column(s): colour"]),
    (HEADER + ",price", ["repeated column(s): price"]),
    ("TOMA-1KG,Tomatoes", ["unknown column(s): toma-1kg, tomatoes",
                           "missing column(s): sku, product, category, description, "
                           "option1_name, option1_value, option2_name, option2_value, price, "
                           "weight_grams, active, image_urls"]),
])
def test_a_wrong_header_is_refused_on_line_1(db, store, header, reasons):
    assert refused(db, store, header + "\nCABB,Cabbage\n") == [
        {"line": 1, "reason": reason} for reason in reasons]


def test_an_empty_file_is_refused(db, store):
    assert refused(db, store, "") == [{"line": 1, "reason": "the file is empty"}]


def test_line_numbers_count_the_lines_of_a_wrapped_description(db, store):
    errors = refused(db, store, csv_text(
        'KANGA,Kanga,,"Cotton\nfrom\nMombasa",,,,,800,0,true,,',
        "JEMBE,Jembe,,,,,,,5.555,0,true,,"))
    assert errors == [{"line": 5, "reason": "price: 5.555 has more decimals than KES allows (2)"}]


def test_rows_of_one_product_must_agree_on_the_product_columns(db, store):
    assert refused(db, store, csv_text(
        "KANGA-L,Kanga,Textiles,Cotton,Size,L,,,800,0,true,,",
        "KANGA-XL,Kanga,Clothes,Silk,Size,XL,,,900,0,true,,",
        "KANGA-S,Kanga,Textiles,Cotton,Colour,Red,,,700,0,true,,",
    )) == [
        {"line": 3, "reason": "category differs from line 2, another row of product Kanga"},
        {"line": 3, "reason": "description differs from line 2, another row of product Kanga"},
        {"line": 4, "reason": "option names differs from line 2, another row of product Kanga"},
    ]


def test_two_rows_of_a_product_with_the_same_options_are_refused(db, store):
    assert refused(db, store, csv_text(
        "TOMA-1KG-B,Tomatoes,Vegetables,,Size,1kg,,,110.00,0,true,,",
        "JEMBE,Jembe,,,,,,,550,0,true,,",
        "JEMBE-2,Jembe,,,,,,,600,0,true,,",
    )) == [
        {"line": 2, "reason": "Tomatoes 1kg is already SKU TOMA-1KG"},
        {"line": 4, "reason": "product Jembe has no options, so it can have only one SKU "
                              "(see line 3)"},
    ]


def test_options_cannot_change_while_some_of_the_products_skus_are_left_out(db, store):
    assert refused(db, store, csv_text(
        "TOMA-1KG,Tomatoes,Vegetables,,Size,1kg,Ripeness,Ripe,120.00,0,true,,")) == [
        {"line": 2, "reason": "product Tomatoes also has SKU(s) TOMA-500G, not in this file; "
                              "list all of them to change its options"}]


def test_a_sku_cannot_move_to_another_product(db, store):
    assert refused(db, store, csv_text(
        "TOMA-1KG,Tomatoes,Vegetables,,Size,1kg,,,120.00,0,true,,",
        "ONIO-1KG,Tomatoes,Vegetables,,Size,onion,,,100.00,0,true,,",
    )) == [{"line": 3, "reason": "SKU ONIO-1KG belongs to product Onions, not Tomatoes; "
                                 "a SKU cannot move to another product"}]


def test_stock_cannot_be_set_below_what_checkouts_hold(db, store):
    tomatoes = variant_by_sku(db, store, "TOMA-1KG")
    db.execute(Stock.__table__.update().where(Stock.variant_id == tomatoes.id).values(reserved=10))
    db.commit()
    assert refused(db, store, edited(export_catalog_csv(db, store), "TOMA-1KG", stock="4")) == [
        {"line": 3, "reason": "stock: 10 of TOMA-1KG are held for shoppers checking out, so the "
                              "stock cannot go below 10"}]


def test_a_store_without_a_location_cannot_be_given_stock(db):
    shop = Store(slug="no-shelf", name="No shelf", currency="KES", country="KE")
    db.add(shop)
    db.commit()
    assert refused(db, shop, csv_text("JEMBE,Jembe,,,,,,,550,0,true,3,")) == [
        {"line": 2, "reason": "stock: this store has no stock location to count at"}]
    assert import_catalog_csv(db, shop, csv_text("JEMBE,Jembe,,,,,,,550,0,true,,")).rows == 1


# -- tenancy --------------------------------------------------------------------------------------
def test_importing_into_another_store_never_touches_this_one(db, store):
    other = Store(slug="other", name="Other shop", currency="KES", country="KE")
    db.add(other)
    db.flush()
    db.add(Location(store_id=other.id, name="Back room"))
    db.commit()
    ours_before = export_catalog_csv(db, store)

    report = import_catalog_csv(db, other, csv_text(
        "TOMA-1KG,Tomatoes,Vegetables,,Size,1kg,,,99.00,0,true,7,"))

    assert (report.products_created, report.variants_created, report.categories_created) == (
        1, 1, 1)
    assert export_catalog_csv(db, store) == ours_before
    assert export_catalog_csv(db, other).split("\r\n")[1:] == [
        "TOMA-1KG,Tomatoes,Vegetables,,Size,1kg,,,99.00,0,true,7,", ""]
    assert variant_by_sku(db, store, "TOMA-1KG").price == 12000


def test_a_new_sku_under_a_name_two_products_share_is_refused(db, store):
    catalog.do_create_product(db, store, "Tomatoes", variants=[catalog.VariantInput("NYANYA", 1)])
    assert refused(db, store, csv_text("TOMA-2KG,Tomatoes,,,Size,2kg,,,230.00,0,true,,")) == [
        {"line": 2, "reason": "2 products are called Tomatoes; add one of its existing SKUs to "
                              "say which"}]
