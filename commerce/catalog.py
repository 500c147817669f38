"""The catalog, always within one store: products and their variants, categories, collections.

Shopper-facing readers (``list_products``, ``get_product``, ``get_variant``,
``products_in_category``, ``collection_products``) return only what can be bought: active rows.
They read the database; the shopper channels' menus read ``commerce.storefront`` instead, the
same things kept in process (its category walk and tree are ``with_descendants`` and ``tree_of``).
Merchant changes are ``do_*`` functions: they run the ``check_*`` functions first, then change
and commit; a failed check raises a ``DomainError`` and changes nothing. Another store's ids are
simply not found, so a merchant can never reach into someone else's shop.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from commerce import db
from commerce.errors import N_, DomainError, NotFound
from commerce.models import (
    Category, Collection, CollectionProduct, Product, ProductImage, Store, Variant,
)

MAX_OPTIONS = 2  # "Size" and "Colour": the CSV carries two, and a USSD menu should not ask more
MAX_IMAGES = 10
MAX_DESCRIPTION = 5000
MAX_AMOUNT = 2**31 - 1  # prices, weights and counts are 32-bit integer columns on PostgreSQL


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


# "Leave this field as it is" in ``do_update_*``; needed because ``None`` is a real value there
# (``category_id=None`` takes a product out of its category).
UNCHANGED: Any = _Unchanged()


# -- errors ---------------------------------------------------------------------------------------
class InvalidProduct(DomainError):
    code = "invalid_product"


class InvalidVariant(DomainError):
    code = "invalid_variant"


class DuplicateSku(DomainError):
    code = "duplicate_sku"


class InvalidPrice(DomainError):
    code = "invalid_price"


class InvalidImage(DomainError):
    code = "invalid_image"


class InvalidCategory(DomainError):
    code = "invalid_category"


class CategoryNotEmpty(DomainError):
    code = "category_not_empty"


class InvalidCollection(DomainError):
    code = "invalid_collection"


class CatalogConflict(DomainError):
    """Two merchants (or tabs) changed the same thing at once; the later one should retry."""

    code = "catalog_conflict"


@dataclass(frozen=True)
class VariantInput:
    """One sellable variant as a merchant describes it; ``price`` in minor units (cents)."""

    sku: str
    price: int
    option_values: Mapping[str, str] = field(default_factory=dict)
    weight_grams: int = 0
    active: bool = True


@contextmanager
def committing(session: Session) -> Iterator[None]:
    """``commerce.db.committing``; a unique constraint that lost a race becomes a conflict."""
    try:
        with db.committing(session):
            yield
    except IntegrityError as error:  # a unique constraint lost a race with another request
        raise CatalogConflict("The catalog changed at the same moment; please try again.") \
            from error


# -- reading what a shopper may buy ---------------------------------------------------------------
def _on_sale():
    """Products a shopper may see: active, with at least one active variant."""
    return select(Product).where(Product.active.is_(True)).where(
        Product.variants.any(Variant.active.is_(True)))


# Built once: a shopper's every hop runs these, and building a statement costs more CPU than
# sending it. Parameters by name, as bindparam() declares them.
_ACTIVE_PRODUCT = select(Product).where(
    Product.id == bindparam("id"), Product.store_id == bindparam("store_id"),
    Product.active.is_(True))
_ACTIVE_VARIANT = select(Variant).join(Product).where(
    Variant.id == bindparam("id"), Variant.store_id == bindparam("store_id"),
    Variant.active.is_(True), Product.active.is_(True))
_ON_SALE_IN_CATEGORIES = _on_sale().where(
    Product.store_id == bindparam("store_id"),
    Product.category_id.in_(bindparam("ids", expanding=True))).order_by(Product.name, Product.id)
_CATEGORY_PARENTS = select(Category.id, Category.parent_id).where(
    Category.store_id == bindparam("store_id"))
_CATEGORIES = select(Category).where(Category.store_id == bindparam("store_id")).order_by(
    Category.position, Category.name, Category.id)


def list_products(session: Session, store_id: int) -> list[Product]:
    """Active products with an active variant, in category then name order."""
    stmt = (
        _on_sale()
        .outerjoin(Category, Category.id == Product.category_id)
        .where(Product.store_id == store_id)
        .order_by(Category.position, Product.name)
    )
    return list(session.scalars(stmt))


def get_product(session: Session, store_id: int, product_id: int) -> Product:
    product = session.scalar(_ACTIVE_PRODUCT, {"id": product_id, "store_id": store_id})
    if product is None:
        raise NotFound(N_("That product is not available."))
    return product


def first_image_url(session: Session, store_id: int, product_id: int) -> str | None:
    return session.scalar(
        select(ProductImage.url).where(ProductImage.store_id == store_id,
                                       ProductImage.product_id == product_id)
        .order_by(ProductImage.position, ProductImage.id).limit(1))


def get_variant(session: Session, store_id: int, variant_id: int) -> Variant:
    variant = session.scalar(_ACTIVE_VARIANT, {"id": variant_id, "store_id": store_id})
    if variant is None:
        raise NotFound(N_("That product is not available."))
    return variant


# -- reading for the merchant (active or not) -----------------------------------------------------
def find_product(session: Session, store_id: int, product_id: int) -> Product:
    """A product of this store whether on sale or not: the merchant's view."""
    product = session.scalar(
        select(Product).where(Product.id == product_id, Product.store_id == store_id))
    if product is None:
        raise NotFound("No such product in this store.")
    return product


def find_variant(session: Session, store_id: int, variant_id: int) -> Variant:
    """A variant of this store whether on sale or not: the merchant's view."""
    variant = session.scalar(
        select(Variant).where(Variant.id == variant_id, Variant.store_id == store_id))
    if variant is None:
        raise NotFound("No such variant in this store.")
    return variant


# -- checks ---------------------------------------------------------------------------------------
def _check_text(value: object, what: str, max_length: int, error: type[DomainError],
                required: bool = True) -> str:
    if not isinstance(value, str):
        raise error(f"{what} must be text.")
    value = value.strip()
    if required and not value:
        raise error(f"{what} cannot be empty.")
    if len(value) > max_length:
        raise error(f"{what} must be at most {max_length} characters.")
    return value


def _check_flag(value: object, what: str, error: type[DomainError]) -> bool:
    if not isinstance(value, bool):
        raise error(f"{what} must be true or false.")
    return value


def _check_whole_amount(value: object, what: str, error: type[DomainError]) -> int:
    # bool is an int in Python; True must not quietly become a price of 1 cent.
    if not isinstance(value, int) or isinstance(value, bool):
        raise error(f"{what} must be a whole number.")
    if value < 0:
        raise error(f"{what} cannot be negative.")
    if value > MAX_AMOUNT:
        raise error(f"{what} is too large.")
    return value


def check_product_name(name: object) -> str:
    return _check_text(name, "A product name", 120, InvalidProduct)


def check_description(description: object) -> str:
    return _check_text(description, "The description", MAX_DESCRIPTION, InvalidProduct,
                       required=False)


def check_sku(sku: object) -> str:
    return _check_text(sku, "A SKU", 60, InvalidVariant)


def check_sku_free(session: Session, store_id: int, sku: str,
                   variant_id: int | None = None) -> None:
    """The SKU is not used by another variant of this store (other stores may use it)."""
    taken_by = session.scalar(
        select(Variant.id).where(Variant.store_id == store_id, Variant.sku == sku))
    if taken_by is not None and taken_by != variant_id:
        raise DuplicateSku(f"SKU {sku} is already used in this store.", sku=sku)


def check_price(price: object) -> int:
    """A price in minor units of the store's currency (12000 is KSh 120.00); never a float."""
    return _check_whole_amount(price, "A price (in cents)", InvalidPrice)


def check_weight(weight_grams: object) -> int:
    return _check_whole_amount(weight_grams, "The weight in grams", InvalidVariant)


def check_option_names(option_names: object) -> list[str]:
    if isinstance(option_names, (str, Mapping)) or not isinstance(option_names, Iterable):
        raise InvalidProduct("Option names must be a list, such as [\"Size\"].")
    names = [_check_text(name, "An option name", 30, InvalidProduct) for name in option_names]
    if len(names) > MAX_OPTIONS:
        raise InvalidProduct(f"A product can have at most {MAX_OPTIONS} options.")
    if len({name.casefold() for name in names}) != len(names):
        raise InvalidProduct("A product's option names must differ from each other.")
    return names


def variant_display_name(option_names: Sequence[str], option_values: Mapping[str, str]) -> str:
    """What a shopper reads after the product name: "1kg", "Red / XL"; "" with no options."""
    return " / ".join(option_values[name] for name in option_names)


def check_option_values(option_names: Sequence[str], option_values: object) -> dict[str, str]:
    """One value for each of the product's options, and no others; in the product's order."""
    if not isinstance(option_values, Mapping):
        raise InvalidVariant("Option values must map each option name to a value.")
    if set(option_values) != set(option_names):
        wanted = ", ".join(option_names) if option_names else "none, this product has no options"
        raise InvalidVariant(f"Give exactly one value for each option ({wanted}).")
    values = {name: _check_text(option_values[name], f"The {name} value", 60, InvalidVariant)
              for name in option_names}
    if len(variant_display_name(option_names, values)) > 60:
        raise InvalidVariant("The option values together must fit in 60 characters.")
    return values


def check_distinct_options(product: Product, option_values: Mapping[str, str],
                           variant_id: int | None = None) -> None:
    """No two variants of a product may look the same to a shopper."""
    for sibling in product.variants:
        if sibling.id != variant_id and dict(sibling.option_values) == dict(option_values):
            if not product.option_names:
                raise InvalidVariant(f"{product.name} has no options, so it can have only one "
                                     f"variant (SKU {sibling.sku}).")
            raise InvalidVariant(f"{product.name} already has a variant "
                                 f"{variant_display_name(product.option_names, option_values)} "
                                 f"(SKU {sibling.sku}).")


def check_image_url(url: object) -> str:
    url = _check_text(url, "An image URL", 500, InvalidImage)
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if (parts is None or parts.scheme.lower() not in ("http", "https") or not parts.netloc
            or any(char.isspace() for char in url)):
        raise InvalidImage(f"An image URL must be a web address starting with http:// or "
                           f"https://, not {url[:60]}.")
    return url


def check_image_urls(image_urls: object) -> list[str]:
    if isinstance(image_urls, (str, Mapping)) or not isinstance(image_urls, Iterable):
        raise InvalidImage("Image URLs must be a list.")
    urls = [check_image_url(url) for url in image_urls]
    if len(urls) > MAX_IMAGES:
        raise InvalidImage(f"A product can have at most {MAX_IMAGES} images.")
    return urls


def _check_variant_input(session: Session, store_id: int, option_names: Sequence[str],
                         variant: object) -> VariantInput:
    if not isinstance(variant, VariantInput):
        raise InvalidVariant("Each variant must be a VariantInput.")
    sku = check_sku(variant.sku)
    check_sku_free(session, store_id, sku)
    return VariantInput(sku=sku, price=check_price(variant.price),
                        option_values=check_option_values(option_names, variant.option_values),
                        weight_grams=check_weight(variant.weight_grams),
                        active=_check_flag(variant.active, "Active", InvalidVariant))


def _check_new_variants(session: Session, store_id: int, option_names: Sequence[str],
                        variants: object) -> list[VariantInput]:
    if isinstance(variants, (str, Mapping)) or not isinstance(variants, Iterable):
        raise InvalidProduct("Variants must be a list.")
    checked = [_check_variant_input(session, store_id, option_names, v) for v in variants]
    if not checked:
        raise InvalidProduct("A product needs at least one variant to be sold.")
    seen_skus: set[str] = set()
    seen_options: list[dict] = []
    for variant in checked:
        if variant.sku in seen_skus:
            raise DuplicateSku(f"SKU {variant.sku} is given twice.", sku=variant.sku)
        if variant.option_values in seen_options:
            shown = variant_display_name(option_names, variant.option_values)
            raise InvalidVariant(f"Two variants have the same options ({shown})." if shown else
                                 "A product without options can have only one variant.")
        seen_skus.add(variant.sku)
        seen_options.append(variant.option_values)
    return checked


# -- changing products ----------------------------------------------------------------------------
def set_product_images(session: Session, product: Product, urls: Sequence[str]) -> None:
    """Replace the product's pictures with ``urls``, first shown first; does not commit."""
    for image in list(product.images):
        session.delete(image)
    for position, url in enumerate(urls):
        session.add(ProductImage(store_id=product.store_id, product_id=product.id, url=url,
                                 position=position))
    session.flush()
    session.expire(product, ["images"])


def _new_variant(session: Session, product: Product, variant: VariantInput) -> Variant:
    row = Variant(store_id=product.store_id, product=product, sku=variant.sku,
                  option_values=dict(variant.option_values),
                  name=variant_display_name(product.option_names, variant.option_values),
                  price=variant.price, weight_grams=variant.weight_grams, active=variant.active)
    session.add(row)
    return row


def do_create_product(session: Session, store: Store, name: str, category_id: int | None = None,
                      description: str = "", option_names: Sequence[str] = (),
                      variants: Sequence[VariantInput] = (), image_urls: Sequence[str] = (),
                      active: bool = True) -> Product:
    name = check_product_name(name)
    description = check_description(description)
    option_names = check_option_names(option_names)
    urls = check_image_urls(image_urls)
    active = _check_flag(active, "Active", InvalidProduct)
    if category_id is not None:
        get_category(session, store.id, category_id)
    checked = _check_new_variants(session, store.id, option_names, variants)
    with committing(session):
        product = Product(store_id=store.id, category_id=category_id, name=name,
                          description=description, option_names=option_names, active=active)
        session.add(product)
        session.flush()
        for variant in checked:
            _new_variant(session, product, variant)
        set_product_images(session, product, urls)
    return product


def do_update_product(session: Session, store: Store, product_id: int, *, name=UNCHANGED,
                      category_id=UNCHANGED, description=UNCHANGED, option_names=UNCHANGED,
                      image_urls=UNCHANGED) -> Product:
    """Change what is given. Options can be renamed here ("Size" to "Weight"), but adding or
    removing one changes every variant, so that is done by a CSV import listing them all."""
    product = find_product(session, store.id, product_id)
    changes: dict[str, object] = {}
    if name is not UNCHANGED:
        changes["name"] = check_product_name(name)
    if description is not UNCHANGED:
        changes["description"] = check_description(description)
    if category_id is not UNCHANGED:
        if category_id is not None:
            get_category(session, store.id, category_id)
        changes["category_id"] = category_id
    renamed: list[str] | None = None
    if option_names is not UNCHANGED:
        renamed = check_option_names(option_names)
        if len(renamed) != len(product.option_names):
            raise InvalidProduct("Options can only be renamed here; to add or remove one, "
                                 "import a CSV that lists every variant of the product.")
    urls = check_image_urls(image_urls) if image_urls is not UNCHANGED else None
    with committing(session):
        for attribute, value in changes.items():
            setattr(product, attribute, value)
        if renamed is not None and renamed != list(product.option_names):
            _rename_options(product, renamed)
        if urls is not None and urls != [image.url for image in product.images]:
            set_product_images(session, product, urls)
    return product


def _rename_options(product: Product, new_names: list[str]) -> None:
    """Same options under new names: each variant keeps its values, position by position."""
    old_names = list(product.option_names)
    for variant in product.variants:
        values = {new: variant.option_values.get(old, "") for old, new in
                  zip(old_names, new_names)}
        variant.option_values = values
        variant.name = variant_display_name(new_names, values)
    product.option_names = new_names


def do_set_product_active(session: Session, store: Store, product_id: int,
                          active: bool) -> Product:
    """Take a product off sale (or put it back) without losing it or its order history."""
    product = find_product(session, store.id, product_id)
    active = _check_flag(active, "Active", InvalidProduct)
    with committing(session):
        product.active = active
    return product


def do_add_variant(session: Session, store: Store, product_id: int,
                   variant: VariantInput) -> Variant:
    product = find_product(session, store.id, product_id)
    checked = _check_variant_input(session, store.id, product.option_names, variant)
    check_distinct_options(product, checked.option_values)
    with committing(session):
        row = _new_variant(session, product, checked)
    return row


def do_update_variant(session: Session, store: Store, variant_id: int, *, price=UNCHANGED,
                      sku=UNCHANGED, option_values=UNCHANGED, weight_grams=UNCHANGED,
                      active=UNCHANGED) -> Variant:
    variant = find_variant(session, store.id, variant_id)
    product = variant.product
    changes: dict[str, object] = {}
    if price is not UNCHANGED:
        changes["price"] = check_price(price)
    if sku is not UNCHANGED:
        changes["sku"] = check_sku(sku)
        check_sku_free(session, store.id, changes["sku"], variant.id)
    if option_values is not UNCHANGED:
        values = check_option_values(product.option_names, option_values)
        check_distinct_options(product, values, variant.id)
        changes["option_values"] = values
        changes["name"] = variant_display_name(product.option_names, values)
    if weight_grams is not UNCHANGED:
        changes["weight_grams"] = check_weight(weight_grams)
    if active is not UNCHANGED:
        changes["active"] = _check_flag(active, "Active", InvalidVariant)
    with committing(session):
        for attribute, value in changes.items():
            setattr(variant, attribute, value)
    return variant


# -- categories -----------------------------------------------------------------------------------
def get_category(session: Session, store_id: int, category_id: int) -> Category:
    category = session.scalar(
        select(Category).where(Category.id == category_id, Category.store_id == store_id))
    if category is None:
        raise NotFound(N_("No such category in this store."))
    return category


def check_category_name(name: object) -> str:
    return _check_text(name, "A category name", 80, InvalidCategory)


def _check_category_name_free(session: Session, store_id: int, name: str,
                              category_id: int | None = None) -> None:
    # Names are unique across the whole store, not per parent: a shopper searching "Fruits"
    # and a CSV naming a category must each find exactly one.
    taken_by = session.scalar(
        select(Category.id).where(Category.store_id == store_id, Category.name == name))
    if taken_by is not None and taken_by != category_id:
        raise InvalidCategory(f"There is already a category called {name}.")


def _next_position(session: Session, store_id: int, parent_id: int | None) -> int:
    """After the last sibling, so a new or moved category shows up at the end of its list."""
    last = session.scalar(
        select(func.max(Category.position))
        .where(Category.store_id == store_id, Category.parent_id == parent_id))
    return 0 if last is None else last + 1


def add_category(session: Session, store_id: int, name: str,
                 parent_id: int | None = None) -> Category:
    """Check and add a category at the end of its parent's list; does not commit."""
    name = check_category_name(name)
    _check_category_name_free(session, store_id, name)
    if parent_id is not None:
        get_category(session, store_id, parent_id)
    category = Category(store_id=store_id, name=name, parent_id=parent_id,
                        position=_next_position(session, store_id, parent_id))
    session.add(category)
    session.flush()
    return category


def do_create_category(session: Session, store: Store, name: str,
                       parent_id: int | None = None) -> Category:
    with committing(session):
        category = add_category(session, store.id, name, parent_id)
    return category


def do_rename_category(session: Session, store: Store, category_id: int, name: str) -> Category:
    category = get_category(session, store.id, category_id)
    name = check_category_name(name)
    _check_category_name_free(session, store.id, name, category.id)
    with committing(session):
        category.name = name
    return category


def _parents(session: Session, store_id: int) -> dict[int, int | None]:
    return dict(session.execute(_CATEGORY_PARENTS, {"store_id": store_id}).all())


def do_move_category(session: Session, store: Store, category_id: int,
                     parent_id: int | None) -> Category:
    """Put a category inside another (or at the top with ``None``), at the end of its list."""
    category = get_category(session, store.id, category_id)
    if parent_id is not None:
        get_category(session, store.id, parent_id)
        parents, at, seen = _parents(session, store.id), parent_id, set()
        while at is not None and at not in seen:  # walk up from the new parent
            if at == category.id:
                raise InvalidCategory("A category cannot go inside itself or one of its own "
                                      "subcategories.")
            seen.add(at)
            at = parents.get(at)
    if parent_id == category.parent_id:
        return category
    with committing(session):
        category.position = _next_position(session, store.id, parent_id)
        category.parent_id = parent_id
    return category


def do_delete_category(session: Session, store: Store, category_id: int) -> None:
    """Only an empty category goes: deleting one must never hide products or subcategories."""
    category = get_category(session, store.id, category_id)
    products = session.scalar(select(func.count(Product.id)).where(
        Product.store_id == store.id, Product.category_id == category.id))
    children = session.scalar(select(func.count(Category.id)).where(
        Category.store_id == store.id, Category.parent_id == category.id))
    if products or children:
        raise CategoryNotEmpty(f"{category.name} still has {products} product(s) and "
                               f"{children} subcategory(ies); move them out first.",
                               products=products, subcategories=children)
    with committing(session):
        session.delete(category)


def category_tree(session: Session, store_id: int) -> list[dict]:
    """``[{"id", "name", "position", "children": [...]}, ...]`` in display order."""
    return tree_of(session.scalars(_CATEGORIES, {"store_id": store_id}).all())


def tree_of(categories: Sequence) -> list[dict]:
    """``category_tree`` of categories (rows or a storefront's) already in display order."""
    children: dict[int | None, list] = defaultdict(list)
    for category in categories:
        children[category.parent_id].append(category)

    def node(category) -> dict:
        return {"id": category.id, "name": category.name, "position": category.position,
                "children": [node(child) for child in children[category.id]]}

    return [node(category) for category in children[None]]


def with_descendants(parents: Mapping[int, int | None], category_id: int) -> set[int]:
    """The category and every category below it, given each category's parent."""
    children: dict[int | None, list[int]] = defaultdict(list)
    for child, parent in parents.items():
        children[parent].append(child)
    found, waiting = set(), [category_id]
    while waiting:
        current = waiting.pop()
        if current not in found:
            found.add(current)
            waiting.extend(children[current])
    return found


def products_in_category(session: Session, store_id: int, category_id: int,
                         include_descendants: bool = True) -> list[Product]:
    """What a shopper sees in a category (by default with its subcategories), by name."""
    parents = _parents(session, store_id)  # also tells whether the category is this store's
    if category_id not in parents:
        raise NotFound(N_("No such category in this store."))
    ids = with_descendants(parents, category_id) if include_descendants else {category_id}
    return list(session.scalars(_ON_SALE_IN_CATEGORIES, {"store_id": store_id, "ids": list(ids)}))


# -- collections ----------------------------------------------------------------------------------
def get_collection(session: Session, store_id: int, collection_id: int) -> Collection:
    collection = session.scalar(select(Collection).where(
        Collection.id == collection_id, Collection.store_id == store_id))
    if collection is None:
        raise NotFound("No such collection in this store.")
    return collection


def list_collections(session: Session, store_id: int) -> list[Collection]:
    """The collections a shopper may browse, by name."""
    return list(session.scalars(select(Collection).where(
        Collection.store_id == store_id, Collection.active.is_(True)).order_by(Collection.name)))


def do_create_collection(session: Session, store: Store, name: str,
                         active: bool = True) -> Collection:
    name = _check_text(name, "A collection name", 80, InvalidCollection)
    active = _check_flag(active, "Active", InvalidCollection)
    if session.scalar(select(Collection.id).where(Collection.store_id == store.id,
                                                  Collection.name == name)) is not None:
        raise InvalidCollection(f"There is already a collection called {name}.")
    with committing(session):
        collection = Collection(store_id=store.id, name=name, active=active)
        session.add(collection)
    return collection


def _entries(session: Session, store_id: int, collection_id: int) -> list[CollectionProduct]:
    return list(session.scalars(
        select(CollectionProduct).where(CollectionProduct.store_id == store_id,
                                        CollectionProduct.collection_id == collection_id)
        .order_by(CollectionProduct.position, CollectionProduct.id)))


def do_add_to_collection(session: Session, store: Store, collection_id: int,
                         product_id: int) -> None:
    """Add at the end; adding a product already there changes nothing."""
    collection = get_collection(session, store.id, collection_id)
    product = find_product(session, store.id, product_id)
    entries = _entries(session, store.id, collection.id)
    if any(entry.product_id == product.id for entry in entries):
        return
    with committing(session):
        session.add(CollectionProduct(
            store_id=store.id, collection_id=collection.id, product_id=product.id,
            position=max((entry.position for entry in entries), default=-1) + 1))


def do_remove_from_collection(session: Session, store: Store, collection_id: int,
                              product_id: int) -> None:
    collection = get_collection(session, store.id, collection_id)
    entry = next((entry for entry in _entries(session, store.id, collection.id)
                  if entry.product_id == product_id), None)
    if entry is None:
        raise NotFound("That product is not in this collection.")
    with committing(session):
        session.delete(entry)


def do_reorder_collection(session: Session, store: Store, collection_id: int,
                          product_ids: Sequence[int]) -> None:
    """``product_ids`` is the whole collection in its new order, each product exactly once."""
    collection = get_collection(session, store.id, collection_id)
    entries = {entry.product_id: entry for entry in _entries(session, store.id, collection.id)}
    ordered = list(product_ids)
    if len(ordered) != len(entries) or set(ordered) != set(entries):
        raise InvalidCollection("List every product of the collection exactly once.")
    with committing(session):
        for position, product_id in enumerate(ordered):
            entries[product_id].position = position


def collection_products(session: Session, store_id: int, collection_id: int,
                        include_inactive: bool = False) -> list[Product]:
    """The collection in the merchant's order. Shoppers (the default) see only what is on
    sale, and an inactive collection is not found; ``include_inactive`` is the merchant's view."""
    collection = get_collection(session, store_id, collection_id)
    if not include_inactive and not collection.active:
        raise NotFound("No such collection in this store.")
    stmt = (select(Product) if include_inactive else _on_sale()).join(
        CollectionProduct, CollectionProduct.product_id == Product.id).where(
        CollectionProduct.store_id == store_id, CollectionProduct.collection_id == collection.id,
        Product.store_id == store_id,
    ).order_by(CollectionProduct.position, CollectionProduct.id)
    return list(session.scalars(stmt))
