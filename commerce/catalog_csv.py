"""Bulk catalog import and export as CSV: one row per variant, upserted by SKU.

An import is all or nothing. Every row is checked first; if any is wrong the merchant gets
every problem with its line number, and nothing in the file is applied. Rows naming the same
product carry the same product columns, exactly as an export writes them, so a spreadsheet
edited by hand and a file from another shop system read the same way.
"""
from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from commerce import catalog, inventory
from commerce.catalog import committing
from commerce.errors import DomainError, OutOfStock
from commerce.models import Category, Location, Product, Stock, Store, Variant
from commerce.money import minor_units

COLUMNS = ("sku", "product", "category", "description", "option1_name", "option1_value",
           "option2_name", "option2_value", "price", "weight_grams", "active", "stock",
           "image_urls")
OPTIONAL_COLUMNS = frozenset({"stock"})  # left out, or left empty: stock is not touched
BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
DECIMAL = re.compile(r"\d+(?:\.\d+)?")
WHOLE = re.compile(r"\d+")


class CatalogImportError(DomainError):
    """``details["errors"]``: every problem, as ``{"line": n, "reason": "..."}``."""

    code = "invalid_csv"


@dataclass(frozen=True)
class ImportReport:
    rows: int = 0
    products_created: int = 0
    products_updated: int = 0
    variants_created: int = 0
    variants_updated: int = 0
    categories_created: int = 0
    stock_adjusted: int = 0

    @property
    def changed(self) -> bool:
        return any((self.products_created, self.products_updated, self.variants_created,
                    self.variants_updated, self.categories_created, self.stock_adjusted))


@dataclass(frozen=True)
class _Row:
    """One line of the file, read and checked on its own."""

    line: int
    sku: str
    product: str
    category: str
    description: str
    option_names: tuple[str, ...]
    option_values: dict
    price: int
    weight_grams: int
    active: bool
    stock: int | None
    image_urls: tuple[str, ...]


@dataclass
class _Group:
    """The rows naming one product, and the existing product they update (None: a new one)."""

    name: str
    rows: list[_Row]
    product: Product | None = None
    variants: dict[str, Variant] = field(default_factory=dict)  # existing ones, by SKU


class _Bad(ValueError):
    """A cell that cannot be read; its message is the reason shown to the merchant."""


# -- export ---------------------------------------------------------------------------------------
def format_price(amount: int, currency: str) -> str:
    """Minor units as the major-unit decimal a merchant types: 12000 KES is "120.00"."""
    digits = minor_units(currency)
    return f"{Decimal(amount).scaleb(-digits):.{digits}f}"


def export_catalog_csv(session: Session, store: Store) -> str:
    """Every variant of the store, on sale or not, in the import format."""
    location = _default_location(session, store.id)
    on_hand = _stock_at(session, store.id, location)
    categories = dict(session.execute(
        select(Category.id, Category.name).where(Category.store_id == store.id)).all())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for product in session.scalars(
            select(Product).where(Product.store_id == store.id).order_by(Product.id)):
        names = list(product.option_names) + ["", ""]
        images = " ".join(image.url for image in product.images)
        for variant in product.variants:
            values = [variant.option_values.get(name, "") for name in product.option_names]
            values += ["", ""]
            stock = on_hand.get(variant.id)
            writer.writerow([
                variant.sku, product.name, categories.get(product.category_id, ""),
                product.description, names[0], values[0], names[1], values[1],
                format_price(variant.price, store.currency), variant.weight_grams,
                "true" if product.active and variant.active else "false",
                "" if location is None else (stock.quantity if stock else 0), images,
            ])
    return out.getvalue()


def _default_location(session: Session, store_id: int) -> Location | None:
    try:
        return inventory.default_location(session, store_id)
    except DomainError:  # a store that counts no stock yet
        return None


def _stock_at(session: Session, store_id: int, location: Location | None) -> dict[int, Stock]:
    if location is None:
        return {}
    return {stock.variant_id: stock for stock in session.scalars(select(Stock).where(
        Stock.store_id == store_id, Stock.location_id == location.id))}


# -- import: reading the file ---------------------------------------------------------------------
def import_catalog_csv(session: Session, store: Store, text: str,
                       actor: str = "import") -> ImportReport:
    """Upsert every row by SKU, or raise ``CatalogImportError`` and change nothing."""
    rows, problems = _read(text, store.currency)
    groups = _group(session, store, rows, problems)
    if problems:
        problems.sort(key=lambda problem: problem["line"])
        raise CatalogImportError(
            f"The file has {len(problems)} problem(s); nothing was imported.", errors=problems)
    with committing(session):
        report = _apply(session, store, groups, actor)
    return report


def _problem(line: int, reason: str) -> dict:
    return {"line": line, "reason": reason}


def _read(text: str, currency: str) -> tuple[list[_Row], list[dict]]:
    text = text.removeprefix("\ufeff")  # the byte-order mark Excel puts before "sku"
    reader = csv.reader(io.StringIO(text, newline=""))
    columns = _read_header(next(reader, None))
    rows: list[_Row] = []
    problems: list[dict] = []
    first_line_of_sku: dict[str, int] = {}
    while True:
        line = reader.line_num + 1  # where this record starts, though a quoted cell may wrap
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            problems.append(_problem(line, f"unreadable CSV: {error}"))
            break
        if not any(cell.strip() for cell in cells):
            continue  # a blank line
        if len(cells) != len(columns):
            problems.append(_problem(line, f"expected {len(columns)} fields, found {len(cells)}"))
            continue
        record = {column: cell.strip() for column, cell in zip(columns, cells)}
        sku = record["sku"]
        if sku in first_line_of_sku:
            problems.append(_problem(line, f"SKU {sku} is also on line {first_line_of_sku[sku]}"))
            continue
        if sku:
            first_line_of_sku[sku] = line
        row, reasons = _parse_row(line, record, currency)
        problems.extend(_problem(line, reason) for reason in reasons)
        if row is not None:
            rows.append(row)
    return rows, problems


def _read_header(header: list[str] | None) -> list[str]:
    if header is None:
        raise CatalogImportError("The file is empty.", errors=[_problem(1, "the file is empty")])
    columns = [cell.strip().lower() for cell in header]
    reasons = []
    unknown = [column or "(blank)" for column in columns if column not in COLUMNS]
    if unknown:
        reasons.append(f"unknown column(s): {', '.join(unknown)}")
    repeated = sorted({column for column in columns if columns.count(column) > 1})
    if repeated:
        reasons.append(f"repeated column(s): {', '.join(repeated)}")
    missing = [column for column in COLUMNS if column not in columns
               and column not in OPTIONAL_COLUMNS]
    if missing:
        reasons.append(f"missing column(s): {', '.join(missing)}")
    if reasons:
        raise CatalogImportError(
            "The header row is not right; the first line must be: " + ",".join(COLUMNS),
            errors=[_problem(1, reason) for reason in reasons])
    return columns


def _parse_row(line: int, record: dict[str, str], currency: str) -> tuple[_Row | None, list[str]]:
    reasons: list[str] = []

    def read(column: str, parse):
        try:
            return parse(record.get(column, ""))
        except (_Bad, DomainError) as bad:
            reasons.append(f"{column}: {bad.message if isinstance(bad, DomainError) else bad}")
            return None

    sku = read("sku", catalog.check_sku)
    product = read("product", catalog.check_product_name)
    category = read("category", lambda cell: catalog.check_category_name(cell) if cell else "")
    description = read("description", catalog.check_description)
    options = _read_options(record, reasons)
    price = read("price", lambda cell: catalog.check_price(_minor_units(cell, currency)))
    weight = read("weight_grams", lambda cell: catalog.check_weight(_whole(cell)) if cell else 0)
    active = read("active", _boolean)
    stock = read("stock", lambda cell: _count(cell) if cell else None)
    images = read("image_urls", lambda cell: tuple(catalog.check_image_urls(cell.split())))
    if reasons:
        return None, reasons
    option_names, option_values = options
    return _Row(line=line, sku=sku, product=product, category=category,
                description=description, option_names=option_names,
                option_values=option_values, price=price, weight_grams=weight, active=active,
                stock=stock, image_urls=images), []


def _read_options(record: dict[str, str], reasons: list[str]) -> tuple[tuple[str, ...], dict]:
    pairs = [(record["option1_name"], record["option1_value"]),
             (record["option2_name"], record["option2_value"])]
    for number, (name, value) in enumerate(pairs, start=1):
        if value and not name:
            reasons.append(f"option{number}_value: given without an option{number}_name")
    if pairs[1][0] and not pairs[0][0]:
        reasons.append("option2_name: fill in option1 first")
    names = [name for name, _ in pairs if name]
    try:
        names = catalog.check_option_names(names)
        values = catalog.check_option_values(names, {name: value for name, value in pairs
                                                     if name})
    except DomainError as error:
        reasons.append(f"options: {error.message}")
        return (), {}
    return tuple(names), values


def _minor_units(cell: str, currency: str) -> int:
    """"120.00" KES is 12000 cents; Decimal all the way, so no float can round a price."""
    if cell.startswith("-"):
        raise _Bad("a price cannot be negative")
    if not DECIMAL.fullmatch(cell):
        raise _Bad(f"{cell or 'an empty cell'} is not a price like 120.00")
    digits = minor_units(currency)
    amount = Decimal(cell).scaleb(digits)
    if amount != amount.to_integral_value():
        raise _Bad(f"{cell} has more decimals than {currency} allows ({digits})")
    return int(amount)


def _whole(cell: str) -> int:
    if cell.startswith("-"):
        raise _Bad("cannot be negative")
    if not WHOLE.fullmatch(cell):
        raise _Bad(f"{cell} is not a whole number")
    return int(cell)


def _count(cell: str) -> int:
    count = _whole(cell)
    if count > catalog.MAX_AMOUNT:
        raise _Bad(f"{cell} is too large")
    return count


def _boolean(cell: str) -> bool:
    try:
        return BOOLEANS[cell.lower()]
    except KeyError:
        raise _Bad(f"{cell or 'an empty cell'} is not one of true, false, yes, no, 1, 0") \
            from None


# -- import: checking the rows against each other and the store -----------------------------------
def _group(session: Session, store: Store, rows: list[_Row],
           problems: list[dict]) -> list[_Group]:
    groups: dict[str, _Group] = {}
    for row in rows:
        groups.setdefault(row.product, _Group(row.product, [])).rows.append(row)
    existing = {variant.sku: variant for variant in session.scalars(
        select(Variant).where(Variant.store_id == store.id))}
    for group in groups.values():
        _check_rows_agree(group, problems)
    _match_by_sku(groups.values(), existing, problems)
    _match_by_name(session, store.id, groups.values(), problems)
    for group in groups.values():
        _check_options(group, problems)
    _check_stock(session, store.id, rows, existing, problems)
    return list(groups.values())


def _check_rows_agree(group: _Group, problems: list[dict]) -> None:
    """A product's own columns say one thing, whichever of its rows is read."""
    first = group.rows[0]
    for row in group.rows[1:]:
        for attribute, column in (("category", "category"), ("description", "description"),
                                  ("option_names", "option names"),
                                  ("image_urls", "image_urls")):
            if getattr(row, attribute) != getattr(first, attribute):
                problems.append(_problem(row.line, f"{column} differs from line {first.line}, "
                                                   f"another row of product {group.name}"))


def _match_by_sku(groups, existing: dict[str, Variant], problems: list[dict]) -> None:
    """A group whose SKUs exist updates their product; renaming it is fine, moving a SKU to
    another product is not (its order history would change product)."""
    claimed: dict[int, _Group] = {}
    for group in groups:
        for row in group.rows:
            variant = existing.get(row.sku)
            if variant is None:
                continue
            owner = variant.product
            if group.product is None and owner.id not in claimed:
                group.product = owner
                claimed[owner.id] = group
            if owner.id == getattr(group.product, "id", None):
                group.variants[row.sku] = variant
            elif owner.id in claimed and claimed[owner.id] is not group:
                problems.append(_problem(row.line, (
                    f"SKU {row.sku} belongs to product {owner.name}, whose other rows (line "
                    f"{claimed[owner.id].rows[0].line}) call it {claimed[owner.id].name}; "
                    f"give all its rows one product name")))
            else:
                problems.append(_problem(row.line, (
                    f"SKU {row.sku} belongs to product {owner.name}, not "
                    f"{group.product.name}; a SKU cannot move to another product")))


def _match_by_name(session: Session, store_id: int, groups, problems: list[dict]) -> None:
    """New SKUs under an existing product's name are new variants of that product."""
    taken = {group.product.id for group in groups if group.product is not None}
    by_name: dict[str, list[Product]] = {}
    for product in session.scalars(select(Product).where(Product.store_id == store_id)
                                   .order_by(Product.id)):
        by_name.setdefault(product.name, []).append(product)
    for group in groups:
        if group.product is not None:
            continue
        namesakes = [product for product in by_name.get(group.name, [])
                     if product.id not in taken]
        if len(namesakes) > 1:
            problems.append(_problem(group.rows[0].line, (
                f"{len(namesakes)} products are called {group.name}; add one of its existing "
                f"SKUs to say which")))
        elif namesakes:
            group.product = namesakes[0]
            taken.add(group.product.id)


def _check_options(group: _Group, problems: list[dict]) -> None:
    """Every variant of the product, in the file or not, has the product's options and looks
    different from its siblings."""
    option_names = list(group.rows[0].option_names)
    seen: dict[tuple, str] = {}
    if group.product is not None:
        others = [v for v in group.product.variants if v.sku not in group.variants]
        if others and option_names != list(group.product.option_names):
            problems.append(_problem(group.rows[0].line, (
                f"product {group.name} also has SKU(s) {', '.join(v.sku for v in others)}, not "
                f"in this file; list all of them to change its options")))
            return
        for variant in others:
            seen[tuple(sorted(variant.option_values.items()))] = f"SKU {variant.sku}"
    for row in group.rows:
        key = tuple(sorted(row.option_values.items()))
        if key in seen and not option_names:
            problems.append(_problem(row.line, (
                f"product {group.name} has no options, so it can have only one SKU "
                f"(see {seen[key]})")))
        elif key in seen:
            shown = catalog.variant_display_name(option_names, row.option_values)
            problems.append(_problem(row.line, f"{group.name} {shown} is already {seen[key]}"))
        else:
            seen[key] = f"line {row.line}"


def _check_stock(session: Session, store_id: int, rows: list[_Row],
                 existing: dict[str, Variant], problems: list[dict]) -> None:
    counted = [row for row in rows if row.stock is not None]
    if not counted:
        return
    location = _default_location(session, store_id)
    if location is None:
        problems.extend(_problem(row.line, "stock: this store has no stock location to count at")
                        for row in counted)
        return
    stocks = _stock_at(session, store_id, location)
    for row in counted:
        variant = existing.get(row.sku)
        held = stocks[variant.id].reserved if variant and variant.id in stocks else 0
        if row.stock < held:
            problems.append(_problem(row.line, (
                f"stock: {held} of {row.sku} are held for shoppers checking out, so the stock "
                f"cannot go below {held}")))


# -- import: applying the checked rows ------------------------------------------------------------
def _apply(session: Session, store: Store, groups: list[_Group], actor: str) -> ImportReport:
    counts: Counter[str] = Counter()
    categories = {category.name: category for category in session.scalars(
        select(Category).where(Category.store_id == store.id))}
    variants: list[tuple[_Row, Variant]] = []
    for group in groups:
        first = group.rows[0]
        category_id = None
        if first.category:
            if first.category not in categories:
                categories[first.category] = catalog.add_category(session, store.id,
                                                                  first.category)
                counts["categories_created"] += 1
            category_id = categories[first.category].id
        product = group.product
        if product is None:
            product = _create_product(session, store, group, category_id)
            counts["products_created"] += 1
        elif _update_product(session, product, group, category_id):
            counts["products_updated"] += 1
        for row in group.rows:
            variant = group.variants.get(row.sku)
            if variant is None:
                variant = _create_variant(session, product, row)
                counts["variants_created"] += 1
            elif _update_variant(product, variant, row):
                counts["variants_updated"] += 1
            variants.append((row, variant))
    session.flush()
    counts["stock_adjusted"] = _apply_stock(session, store, variants, actor)
    return ImportReport(rows=len(variants), **counts)


def _create_product(session: Session, store: Store, group: _Group,
                    category_id: int | None) -> Product:
    first = group.rows[0]
    product = Product(store_id=store.id, category_id=category_id, name=group.name,
                      description=first.description, option_names=list(first.option_names),
                      active=any(row.active for row in group.rows))
    session.add(product)
    session.flush()
    catalog.set_product_images(session, product, first.image_urls)
    return product


def _update_product(session: Session, product: Product, group: _Group,
                    category_id: int | None) -> bool:
    """Write only what differs, so re-importing an export leaves ``updated_at`` alone."""
    first = group.rows[0]
    wanted = {"name": group.name, "category_id": category_id, "description": first.description,
              "option_names": list(first.option_names)}
    changed = False
    for attribute, value in wanted.items():
        if getattr(product, attribute) != value:
            setattr(product, attribute, value)
            changed = True
    if [image.url for image in product.images] != list(first.image_urls):
        catalog.set_product_images(session, product, first.image_urls)
        changed = True
    if not product.active and any(row.active for row in group.rows):
        product.active = True  # a row on sale puts its product on sale
        changed = True
    return changed


def _create_variant(session: Session, product: Product, row: _Row) -> Variant:
    variant = Variant(store_id=product.store_id, product=product, sku=row.sku,
                      option_values=dict(row.option_values),
                      name=catalog.variant_display_name(row.option_names, row.option_values),
                      price=row.price, weight_grams=row.weight_grams, active=row.active)
    session.add(variant)
    return variant


def _update_variant(product: Product, variant: Variant, row: _Row) -> bool:
    changed = False
    if dict(variant.option_values) != row.option_values:
        variant.option_values = dict(row.option_values)
        variant.name = catalog.variant_display_name(row.option_names, row.option_values)
        changed = True
    for attribute, value in (("price", row.price), ("weight_grams", row.weight_grams)):
        if getattr(variant, attribute) != value:
            setattr(variant, attribute, value)
            changed = True
    # The file's "active" is what a shopper sees: the variant and its product both on sale.
    # Change the variant only when that differs, so a product taken off sale as a whole
    # exports "false" and re-imports without switching each of its variants off.
    if (product.active and variant.active) != row.active:
        variant.active = row.active
        changed = True
    return changed


def _apply_stock(session: Session, store: Store, variants: list[tuple[_Row, Variant]],
                 actor: str) -> int:
    counted = [(row, variant) for row, variant in variants if row.stock is not None]
    if not counted:
        return 0
    location = inventory.default_location(session, store.id)
    stocks = _stock_at(session, store.id, location)
    # Existing stock rows in primary-key order, as inventory does, so imports and checkouts
    # touching the same rows wait for each other instead of deadlocking.
    counted.sort(key=lambda pair: (pair[1].id not in stocks,
                                   stocks[pair[1].id].id if pair[1].id in stocks else pair[1].id))
    adjusted = 0
    for row, variant in counted:
        on_hand = stocks[variant.id].quantity if variant.id in stocks else 0
        if row.stock == on_hand:
            continue
        try:
            inventory.adjust_stock(session, store, variant.id, location.id, row.stock - on_hand,
                                   reason="correction", actor=actor, note="catalog import")
        except OutOfStock as error:  # a checkout reserved units since the rows were checked
            raise CatalogImportError(
                "The file has 1 problem(s); nothing was imported.",
                errors=[_problem(row.line, f"stock: {error.message}")]) from error
        adjusted += 1
    return adjusted
