"""The whole catalog as CSV, one row per variant: export it, edit it in a spreadsheet, import it.

The format and the all-or-nothing import are ``commerce.catalog_csv``'s; here the file goes out
as ``text/csv`` and comes back inside a JSON body (every API body is JSON).
"""
from __future__ import annotations

from flask import Response
from pydantic import BaseModel, Field

from admin.api.errors import ApiError
from admin.api.pages import Body
from admin.api.routing import endpoint
from commerce.catalog_csv import CatalogImportError, export_catalog_csv, import_catalog_csv


class CsvImport(Body):
    csv: str = Field(min_length=1, max_length=2_000_000, description=(
        "The file's text: a header row (sku, product, category, description, option1_name, "
        "option1_value, option2_name, option2_value, price, weight_grams, active, stock, "
        "image_urls; stock optional), then one row per variant, prices in major units."))


class ImportOut(BaseModel):
    rows: int
    products_created: int
    products_updated: int
    variants_created: int
    variants_updated: int
    categories_created: int
    stock_adjusted: int
    changed: bool


@endpoint("GET", "/products/export", "products:read", tag="products",
          summary="Export every variant, on sale or not, as CSV (text/csv)", response=None)
def export_products(call):
    store = call.store
    return Response(export_catalog_csv(call.db, store), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{store.slug}-catalog.csv"'})


@endpoint("POST", "/products/import", "products:write", tag="products",
          summary="Import a CSV: all rows or none; a refusal lists every bad line",
          body=CsvImport, response=ImportOut)
def import_products(call):
    try:
        report = import_catalog_csv(call.db, call.store, call.body.csv,
                                    actor=call.principal.name)
    except CatalogImportError as error:
        # Answered here: the generic mapping keeps only plain details, and the list of
        # {"line", "reason"} is the whole point of the answer.
        raise ApiError(422, error.code, error.message,
                       {"errors": error.details.get("errors", [])}) from None
    return ImportOut(rows=report.rows, products_created=report.products_created,
                     products_updated=report.products_updated,
                     variants_created=report.variants_created,
                     variants_updated=report.variants_updated,
                     categories_created=report.categories_created,
                     stock_adjusted=report.stock_adjusted,
                     changed=report.changed).model_dump()
