"""Categories and collections over the API: how a store's products are grouped for shoppers
(a tree of categories; hand-picked, ordered collections).

Every change goes through ``commerce.catalog``'s ``do_*`` functions (they check, then commit);
products themselves are in ``catalog``.
"""
from __future__ import annotations

from pydantic import BaseModel, Field
from sqlalchemy import select

from admin.api.pages import Body, Id, Page, PageQuery, paginate
from admin.api.routing import endpoint
from commerce import catalog
from commerce.models import Category, Collection


# -- answers --------------------------------------------------------------------------------------
class CategoryOut(BaseModel):
    id: int
    name: str
    parent_id: int | None
    position: int


class CategoryPage(Page[CategoryOut]):
    pass


class CategoryNode(BaseModel):
    id: int
    name: str
    position: int
    children: list[CategoryNode]


class CategoryTree(BaseModel):
    items: list[CategoryNode]


class CollectionSummary(BaseModel):
    id: int
    name: str
    active: bool


class CollectionPage(Page[CollectionSummary]):
    pass


class CollectionEntry(BaseModel):
    id: int
    name: str
    active: bool


class CollectionOut(CollectionSummary):
    products: list[CollectionEntry] = Field(description="In the merchant's order.")


# -- requests -------------------------------------------------------------------------------------
class NewCategory(Body):
    name: str = Field(min_length=1, max_length=80)
    parent_id: Id | None = None


class CategoryRename(Body):
    name: str = Field(min_length=1, max_length=80)


class CategoryMove(Body):
    parent_id: Id | None = Field(description="The new parent; null: the top level.")


class NewCollection(Body):
    name: str = Field(min_length=1, max_length=80)
    active: bool = True


class CollectionAdd(Body):
    product_id: Id


class CollectionOrder(Body):
    product_ids: list[Id] = Field(max_length=1000, description="Every product of the "
                                                               "collection, once, in order.")


# -- shaping --------------------------------------------------------------------------------------
def category_out(category: Category) -> dict:
    return CategoryOut(id=category.id, name=category.name, parent_id=category.parent_id,
                       position=category.position).model_dump()


def collection_out(call, collection: Collection) -> dict:
    products = catalog.collection_products(call.db, call.store_id, collection.id,
                                           include_inactive=True)
    return CollectionOut(id=collection.id, name=collection.name, active=collection.active,
                         products=[CollectionEntry(id=p.id, name=p.name, active=p.active)
                                   for p in products]).model_dump()


# -- categories -----------------------------------------------------------------------------------
@endpoint("GET", "/categories", "products:read", summary="List categories, flat",
          query=PageQuery, response=CategoryPage)
def list_categories(call):
    return paginate(call.db, select(Category).where(Category.store_id == call.store_id),
                    Category.id, call.query, category_out)


@endpoint("GET", "/categories/tree", "products:read",
          summary="Every category as a tree, in display order", response=CategoryTree)
def category_tree(call):
    return {"items": catalog.category_tree(call.db, call.store_id)}


@endpoint("GET", "/categories/<int:category_id>", "products:read", summary="One category",
          response=CategoryOut)
def get_category(call, category_id: int):
    return category_out(catalog.get_category(call.db, call.store_id, category_id))


@endpoint("POST", "/categories", "products:write", summary="Create a category (last of its "
          "parent's)", body=NewCategory, response=CategoryOut, status=201)
def create_category(call):
    return category_out(catalog.do_create_category(call.db, call.store, call.body.name,
                                                   call.body.parent_id))


@endpoint("PATCH", "/categories/<int:category_id>", "products:write",
          summary="Rename a category", body=CategoryRename, response=CategoryOut)
def rename_category(call, category_id: int):
    return category_out(catalog.do_rename_category(call.db, call.store, category_id,
                                                   call.body.name))


@endpoint("POST", "/categories/<int:category_id>/move", "products:write",
          summary="Move a category under another (or to the top), last of its new list",
          body=CategoryMove, response=CategoryOut)
def move_category(call, category_id: int):
    return category_out(catalog.do_move_category(call.db, call.store, category_id,
                                                 call.body.parent_id))


@endpoint("DELETE", "/categories/<int:category_id>", "products:write",
          summary="Delete an empty category (409 while it has products or subcategories)",
          response=None, status=204)
def delete_category(call, category_id: int):
    catalog.do_delete_category(call.db, call.store, category_id)


# -- collections ----------------------------------------------------------------------------------
@endpoint("GET", "/collections", "products:read", summary="List collections",
          query=PageQuery, response=CollectionPage)
def list_collections(call):
    return paginate(call.db, select(Collection).where(Collection.store_id == call.store_id),
                    Collection.id, call.query, lambda collection: CollectionSummary(
                        id=collection.id, name=collection.name,
                        active=collection.active).model_dump())


@endpoint("POST", "/collections", "products:write", summary="Create a collection",
          body=NewCollection, response=CollectionOut, status=201)
def create_collection(call):
    return collection_out(call, catalog.do_create_collection(call.db, call.store,
                                                             call.body.name, call.body.active))


@endpoint("GET", "/collections/<int:collection_id>", "products:read",
          summary="One collection with its products in order", response=CollectionOut)
def get_collection(call, collection_id: int):
    return collection_out(call, catalog.get_collection(call.db, call.store_id, collection_id))


@endpoint("POST", "/collections/<int:collection_id>/products", "products:write",
          summary="Add a product at the end (already there: nothing changes)",
          body=CollectionAdd, response=CollectionOut)
def add_to_collection(call, collection_id: int):
    catalog.do_add_to_collection(call.db, call.store, collection_id, call.body.product_id)
    return get_collection(call, collection_id)


@endpoint("DELETE", "/collections/<int:collection_id>/products/<int:product_id>",
          "products:write", summary="Take a product out of a collection", response=None,
          status=204)
def remove_from_collection(call, collection_id: int, product_id: int):
    catalog.do_remove_from_collection(call.db, call.store, collection_id, product_id)


@endpoint("PUT", "/collections/<int:collection_id>/order", "products:write",
          summary="Put a collection's products in a new order", body=CollectionOrder,
          response=CollectionOut)
def reorder_collection(call, collection_id: int):
    catalog.do_reorder_collection(call.db, call.store, collection_id, call.body.product_ids)
    return get_collection(call, collection_id)
