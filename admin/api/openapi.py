"""``GET /api/v1/openapi.json``: the OpenAPI 3.1 document, built from the declared endpoints
(``routing.ROUTES``) and their pydantic models, so it cannot drift from what the code does."""
from __future__ import annotations

import re
import typing

from pydantic import BaseModel, TypeAdapter

from admin.api.pages import MAX_INT
from admin.api.routing import PREFIX, ROUTES, Route, endpoint

_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
ERROR_SCHEMA = {
    "type": "object", "required": ["error"],
    "properties": {"error": {
        "type": "object", "required": ["code", "message", "details"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                       "details": {"anyOf": [{"type": "object"}, {"type": "array"}]}}}},
}
ERRORS = {"400": "Malformed request", "401": "Not signed in", "403": "Not allowed",
          "404": "No such thing in this store", "409": "Conflicts with the current state",
          "413": "Body too large", "415": "Not JSON", "422": "Invalid values",
          "429": "Too many requests"}


def document() -> dict:
    schemas: dict = {"Error": ERROR_SCHEMA}
    paths: dict = {}
    for route in ROUTES:
        path = PREFIX + _PARAM.sub(r"{\2}", route.path)
        paths.setdefault(path, {})[route.method.lower()] = _operation(route, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Duka merchant API", "version": "1.0.0",
                 "description": "Run a Duka store: catalog, stock, orders, payments, staff. "
                                "Errors are {\"error\": {\"code\", \"message\", \"details\"}}."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"}}},
    }


def _operation(route: Route, schemas: dict) -> dict:
    operation: dict = {"operationId": route.handler.__name__, "summary": route.summary,
                       "tags": [route.tag], "parameters": _path_parameters(route)}
    if route.query is not None:
        operation["parameters"] += _query_parameters(route.query, schemas)
    if route.method == "GET":
        operation["parameters"].append({
            "name": "fields", "in": "query", "required": False,
            "description": "Comma-separated fields to keep in each object.",
            "schema": {"type": "string"}})
    if route.method == "POST" and route.permission is not None:
        operation["parameters"].append({
            "name": "Idempotency-Key", "in": "header", "required": False,
            "schema": {"type": "string", "maxLength": 120}})
    if route.body is not None:
        operation["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": _schema(route.body, schemas, "validation")}}}
    responses: dict = {}
    if route.response is None:
        responses[str(route.status)] = {"description": "Done"}
    else:
        responses[str(route.status)] = {"description": "OK", "content": {
            "application/json": {"schema": _schema(route.response, schemas)}}}
    if route.method == "GET":
        responses["304"] = {"description": "Not modified (If-None-Match)"}
    for status, description in ERRORS.items():
        if route.permission is None and status == "403":
            continue
        responses[status] = {"description": description, "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    operation["responses"] = responses
    if route.permission is not None:
        operation["security"] = [{"bearer": []}, {"apiKey": []}]
        operation["description"] = f"Needs the `{route.permission}` permission."
    return operation


def _path_parameters(route: Route) -> list[dict]:
    return [{"name": name, "in": "path", "required": True,
             "schema": {"type": "integer", "minimum": 0, "maximum": MAX_INT}
             if converter == "int"
             else {"type": "string"}}
            for converter, name in _PARAM.findall(route.path)]


def _query_parameters(model: type[BaseModel], schemas: dict) -> list[dict]:
    schema = _schema(model, schemas, "validation", inline=True)
    required = set(schema.get("required", []))
    return [{"name": name, "in": "query", "required": name in required, "schema": prop}
            for name, prop in schema.get("properties", {}).items()]


def _schema(annotation, schemas: dict, mode: str = "serialization",
            inline: bool = False) -> dict:
    """The JSON schema of a model (or ``list[Model]``), its parts kept in components. Bodies
    are described as they are read (validation), answers as they are written."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel) and not inline:
        name = annotation.__name__
        if name not in schemas:
            full = annotation.model_json_schema(ref_template="#/components/schemas/{model}",
                                                mode=mode)
            schemas.update(full.pop("$defs", {}))
            schemas[name] = full
        return {"$ref": f"#/components/schemas/{name}"}
    full = TypeAdapter(annotation).json_schema(ref_template="#/components/schemas/{model}",
                                               mode=mode)
    schemas.update(full.pop("$defs", {}))
    return full


@endpoint("GET", "/openapi.json", None, summary="This document", tag="meta",
          response=typing.Any)
def openapi_document(call):
    return document()
