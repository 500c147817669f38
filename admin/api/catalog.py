"""The catalog over the API: products with their variants and images.

Every change goes through ``commerce.catalog``'s ``do_*`` functions (they check, then commit);
this module only reads the request, calls the core and shapes the answer. Categories and
collections are in ``catalog_groups``; CSV import and export in ``catalog_io``.
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from admin.api.errors import ApiError
from admin.api.pages import MAX_INT, Amount, Body, Id, Page, PageQuery, paginate
from admin.api.routing import endpoint
from commerce import catalog
from commerce.models import CollectionProduct, Product, Variant

Grams = Annotated[int, Field(ge=0, le=MAX_INT)]
OptionName = Annotated[str, Field(min_length=1, max_length=30)]
OptionValues = Annotated[dict[str, Annotated[str, Field(min_length=1, max_length=60)]],
                         Field(max_length=catalog.MAX_OPTIONS,
                               description="One value per option of the product, by name.")]
ImageUrl = Annotated[str, Field(min_length=1, max_length=500)]


# -- answers --------------------------------------------------------------------------------------
class ImageOut(BaseModel):
    id: int
    url: str
    position: int


class VariantOut(BaseModel):
    id: int
    product_id: int
    sku: str
    name: str = Field(description='What follows the product name: "1kg", "Red / XL", or "".')
    option_values: dict[str, str]
    price: int = Field(description="Minor units of the currency (12000 KES is KSh 120.00).")
    currency: str
    weight_grams: int
    active: bool
    created_at: datetime


class ProductOut(BaseModel):
    id: int
    name: str
    description: str
    category_id: int | None
    option_names: list[str]
    active: bool = Field(description="false: taken off sale (kept for its order history).")
    variants: list[VariantOut]
    images: list[ImageOut]
    created_at: datetime
    updated_at: datetime


class ProductPage(Page[ProductOut]):
    pass


# -- requests -------------------------------------------------------------------------------------
class ProductQuery(PageQuery):
    category_id: Id | None = Field(None, description="Only products directly in this category.")
    collection_id: Id | None = None
    active: bool | None = Field(None, description="true: on sale; false: taken off sale.")
    q: str | None = Field(None, max_length=120,
                          description="Part of the product name, in any case.")


class NewVariant(Body):
    sku: str = Field(min_length=1, max_length=60)
    price: Amount
    option_values: OptionValues = {}
    weight_grams: Grams = 0
    active: bool = True


class NewProduct(Body):
    name: str = Field(min_length=1, max_length=120)
    description: str = Field("", max_length=catalog.MAX_DESCRIPTION)
    category_id: Id | None = None
    option_names: list[OptionName] = Field([], max_length=catalog.MAX_OPTIONS)
    variants: list[NewVariant] = Field(min_length=1, max_length=100)
    image_urls: list[ImageUrl] = Field([], max_length=catalog.MAX_IMAGES)
    active: bool = True


class ProductChange(Body):
    name: str | None = Field(None, min_length=1, max_length=120)
    description: str | None = Field(None, max_length=catalog.MAX_DESCRIPTION)
    category_id: Id | None = Field(None, description="null takes the product out of its "
                                                     "category; leave it out to keep it.")
    option_names: list[OptionName] | None = Field(
        None, max_length=catalog.MAX_OPTIONS,
        description="Rename the options (same number); adding or removing one is a CSV import.")
    active: bool | None = None


class VariantChange(Body):
    sku: str | None = Field(None, min_length=1, max_length=60)
    price: Amount | None = None
    option_values: OptionValues | None = None
    weight_grams: Grams | None = None
    active: bool | None = None


class NewImage(Body):
    url: ImageUrl


# -- shaping --------------------------------------------------------------------------------------
def variant_out(variant: Variant, currency: str) -> dict:
    return VariantOut(id=variant.id, product_id=variant.product_id, sku=variant.sku,
                      name=variant.name, option_values=variant.option_values,
                      price=variant.price, currency=currency,
                      weight_grams=variant.weight_grams, active=variant.active,
                      created_at=variant.created_at).model_dump(mode="json")


def images_out(product: Product) -> list[dict]:
    return [ImageOut(id=image.id, url=image.url, position=image.position).model_dump()
            for image in product.images]


def product_out(product: Product, currency: str) -> dict:
    return ProductOut(id=product.id, name=product.name, description=product.description,
                      category_id=product.category_id, option_names=product.option_names,
                      active=product.active,
                      variants=[variant_out(v, currency) for v in product.variants],
                      images=images_out(product), created_at=product.created_at,
                      updated_at=product.updated_at).model_dump(mode="json")


def _given(body: Body, *names: str) -> dict:
    """The fields a PATCH sent with a value; a null there means "leave it" (category_id,
    where null means "no category", is read on its own)."""
    return {name: getattr(body, name) for name in names
            if name in body.model_fields_set and getattr(body, name) is not None}


# -- products -------------------------------------------------------------------------------------
@endpoint("GET", "/products", "products:read", summary="List products, on sale or not",
          query=ProductQuery, response=ProductPage)
def list_products(call):
    query = call.query
    statement = select(Product).where(Product.store_id == call.store_id).options(
        selectinload(Product.images))
    if query.category_id is not None:
        catalog.get_category(call.db, call.store_id, query.category_id)  # 404 if not ours
        statement = statement.where(Product.category_id == query.category_id)
    if query.collection_id is not None:
        catalog.get_collection(call.db, call.store_id, query.collection_id)
        statement = statement.where(Product.id.in_(select(CollectionProduct.product_id).where(
            CollectionProduct.store_id == call.store_id,
            CollectionProduct.collection_id == query.collection_id)))
    if query.active is not None:
        statement = statement.where(Product.active.is_(query.active))
    if query.q:
        escaped = query.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(Product.name.ilike(f"%{escaped}%", escape="\\"))
    currency = call.store.currency
    return paginate(call.db, statement, Product.id, query,
                    lambda product: product_out(product, currency))


@endpoint("POST", "/products", "products:write", summary="Create a product with its variants",
          body=NewProduct, response=ProductOut, status=201)
def create_product(call):
    body = call.body
    variants = [catalog.VariantInput(sku=v.sku, price=v.price, option_values=v.option_values,
                                     weight_grams=v.weight_grams, active=v.active)
                for v in body.variants]
    product = catalog.do_create_product(
        call.db, call.store, body.name, category_id=body.category_id,
        description=body.description, option_names=body.option_names, variants=variants,
        image_urls=body.image_urls, active=body.active)
    return product_out(product, call.store.currency)


@endpoint("GET", "/products/<int:product_id>", "products:read",
          summary="One product with its variants, images and options", response=ProductOut)
def get_product(call, product_id: int):
    return product_out(catalog.find_product(call.db, call.store_id, product_id),
                       call.store.currency)


@endpoint("PATCH", "/products/<int:product_id>", "products:write",
          summary="Change a product's name, description, category, options or whether it is "
                  "on sale", body=ProductChange, response=ProductOut)
def change_product(call, product_id: int):
    body = call.body
    changes = _given(body, "name", "description", "option_names")
    if "category_id" in body.model_fields_set:
        changes["category_id"] = body.category_id
    product = catalog.do_update_product(call.db, call.store, product_id, **changes)
    if body.active is not None:
        product = catalog.do_set_product_active(call.db, call.store, product_id, body.active)
    return product_out(product, call.store.currency)


@endpoint("DELETE", "/products/<int:product_id>", "products:write",
          summary="Take a product off sale (the core keeps products: orders refer to them)",
          response=None, status=204)
def take_product_off_sale(call, product_id: int):
    catalog.do_set_product_active(call.db, call.store, product_id, False)


# -- variants -------------------------------------------------------------------------------------
@endpoint("POST", "/products/<int:product_id>/variants", "products:write",
          summary="Add a variant to a product", tag="products", body=NewVariant,
          response=VariantOut, status=201)
def add_variant(call, product_id: int):
    body = call.body
    variant = catalog.do_add_variant(call.db, call.store, product_id, catalog.VariantInput(
        sku=body.sku, price=body.price, option_values=body.option_values,
        weight_grams=body.weight_grams, active=body.active))
    return variant_out(variant, call.store.currency)


@endpoint("GET", "/variants/<int:variant_id>", "products:read", summary="One variant",
          tag="products", response=VariantOut)
def get_variant(call, variant_id: int):
    return variant_out(catalog.find_variant(call.db, call.store_id, variant_id),
                       call.store.currency)


@endpoint("PATCH", "/variants/<int:variant_id>", "products:write",
          summary="Change a variant's price, SKU, options, weight or whether it is on sale",
          tag="products", body=VariantChange, response=VariantOut)
def change_variant(call, variant_id: int):
    changes = _given(call.body, "sku", "price", "option_values", "weight_grams", "active")
    variant = catalog.do_update_variant(call.db, call.store, variant_id, **changes)
    return variant_out(variant, call.store.currency)


# -- images ---------------------------------------------------------------------------------------
@endpoint("GET", "/products/<int:product_id>/images", "products:read",
          summary="A product's images, first shown first", tag="products",
          response=list[ImageOut])
def list_images(call, product_id: int):
    return images_out(catalog.find_product(call.db, call.store_id, product_id))


@endpoint("POST", "/products/<int:product_id>/images", "products:write",
          summary="Add an image by URL, shown last; answers every image (ids are renewed)",
          tag="products", body=NewImage, response=list[ImageOut], status=201)
def add_image(call, product_id: int):
    product = catalog.find_product(call.db, call.store_id, product_id)
    urls = [image.url for image in product.images] + [call.body.url]
    return images_out(catalog.do_update_product(call.db, call.store, product_id,
                                                image_urls=urls))


@endpoint("DELETE", "/products/<int:product_id>/images/<int:image_id>", "products:write",
          summary="Remove an image (the others' ids are renewed)", tag="products",
          response=None, status=204)
def remove_image(call, product_id: int, image_id: int):
    product = catalog.find_product(call.db, call.store_id, product_id)
    if image_id not in {image.id for image in product.images}:
        raise ApiError(404, "not_found", "No such image of this product.")
    catalog.do_update_product(call.db, call.store, product_id, image_urls=[
        image.url for image in product.images if image.id != image_id])
