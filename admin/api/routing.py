"""How an API endpoint is declared, and what every call goes through.

``@endpoint("GET", "/products/<int:product_id>", "products:read", response=ProductOut)`` on a
plain function ``(call, **path) -> payload`` registers the route for Flask and for the OpenAPI
document. Each call is authenticated, checked for its permission, its query and JSON body
validated (unknown fields refused), and its answer trimmed by ``fields=``; a ``GET`` answer
carries an ``ETag`` and a matching ``If-None-Match`` gets 304; a ``POST`` with an
``Idempotency-Key`` is answered once and replayed after.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from flask import Blueprint, Request, Response, current_app, request
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin.api import idempotency
from admin.api.auth import Principal, authenticate
from admin.api.errors import ApiError, from_domain
from admin.api.pages import MAX_INT
from admin.context import services
from commerce.errors import DomainError
from commerce.models import Store

PREFIX = "/api/v1"
bp = Blueprint("api", __name__, url_prefix=PREFIX)


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # Flask style: /products/<int:product_id>
    permission: str | None  # None: open (sign-in, the OpenAPI document)
    summary: str
    tag: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: Any  # a pydantic model class, list[...] of one, or None (no body)
    status: int
    handler: Callable = field(compare=False)
    secret_fields: tuple[str, ...] = ()  # never kept for an Idempotency-Key replay


ROUTES: list[Route] = []


@dataclass
class Call:
    """One authenticated API call: what a handler works with."""

    db: Session
    principal: Principal
    body: Any = None  # the validated body model
    query: Any = None  # the validated query model
    request: Request | None = None

    @property
    def store(self) -> Store:
        return self.db.get(Store, self.principal.store_id)

    @property
    def store_id(self) -> int:
        return self.principal.store_id


M = TypeVar("M")


def in_store(call: Call, model: type[M], row_id: int, what: str) -> M:
    """The row of ``model`` with this id in the caller's store, or a 404 saying "No such
    {what} in this store." (another store's row is as missing as one that never was)."""
    row = call.db.scalar(select(model).where(model.id == row_id,
                                             model.store_id == call.store_id))
    if row is None:
        raise ApiError(404, "not_found", f"No such {what} in this store.")
    return row


def endpoint(method: str, path: str, permission: str | None, *, summary: str = "",
             tag: str = "", body: type[BaseModel] | None = None,
             query: type[BaseModel] | None = None, response: Any = None, status: int = 200,
             secret_fields: tuple[str, ...] = ()):
    def register(handler: Callable) -> Callable:
        route = Route(method, path, permission, summary or (handler.__doc__ or "").strip(),
                      tag or path.strip("/").split("/")[0], body, query, response, status,
                      handler, secret_fields)
        ROUTES.append(route)
        bp.add_url_rule(path, f"{handler.__module__.rsplit('.', 1)[-1]}_{handler.__name__}",
                        lambda **path_args: _serve(route, path_args), methods=[method])
        return handler

    return register


def _serve(route: Route, path_args: dict) -> Response:
    if any(isinstance(v, int) and v > MAX_INT for v in path_args.values()):
        raise ApiError(404, "not_found", "Nothing has that id.")  # beyond any row's id
    with services().db() as db:
        principal = authenticate(db, request, required=route.permission is not None)
        if principal.authenticated:
            _limit_caller(principal)
        if route.permission is not None and route.permission not in principal.permissions:
            raise ApiError(403, "forbidden", f"This needs the {route.permission} permission.")
        call = Call(db, principal, request=request)
        call.query = _validated(route.query, _query_args(), "query") if route.query else None
        if route.body is not None:
            _json_body()  # malformed JSON is a 400; then the values, strictly
            call.body = _validated(route.body, request.get_data(), "body")
        elif route.method in ("POST", "PUT", "PATCH") and request.get_data():
            _json_body()  # still refuse a body that is not JSON
        held = None
        if route.method == "POST" and principal.authenticated:
            held = idempotency.begin(db, principal, request)
            if isinstance(held, idempotency.Replay):
                return _respond(route, held.response, held.status, replayed=True)
        try:
            payload = route.handler(call, **path_args)
        except Exception as error:
            db.rollback()
            idempotency.release(db, held)  # a refused request may be sent again, corrected
            if isinstance(error, DomainError):
                raise from_domain(error) from None
            raise
        if isinstance(payload, Response):  # a file the handler made (CSV): sent as it is
            idempotency.release(db, held)  # only JSON answers are kept for a replay
            if route.method == "GET" and payload.status_code == 200:
                payload.add_etag(weak=True)
                payload.make_conditional(request)
            return payload
        status = route.status
        if isinstance(payload, tuple):
            payload, status = payload
        kept = ({k: (None if k in route.secret_fields else v) for k, v in payload.items()}
                if route.secret_fields and isinstance(payload, dict) else payload)
        idempotency.finish(db, held, status, kept)
        return _respond(route, payload, status)


def _limit_caller(principal: Principal) -> None:
    limit = services().api_requests_per_minute
    if not services().ratelimit.hit(f"api-caller:{principal.name}", limit):
        raise ApiError(429, "too_many_requests", f"More than {limit} requests a minute with "
                       "this token or key; slow down.",
                       headers={"Retry-After": str(60 - int(time.time()) % 60)})


def _query_args() -> dict:
    args = {}
    for name in request.args:
        values = request.args.getlist(name)
        args[name] = values if len(values) > 1 else values[0]
    args.pop("fields", None)  # every GET takes it; handled on the way out
    return args


def _json_body() -> Any:
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "Send the body as application/json.")
    try:
        return json.loads(request.get_data() or b"null")
    except ValueError:
        raise ApiError(400, "malformed_json", "The body is not valid JSON.") from None


def _validated(model: type[BaseModel], data: Any, where: str) -> BaseModel:
    try:
        if where == "body":
            valid = model.model_validate_json(data)  # JSON's own types: "5" is not 5
        else:
            valid = model.model_validate(data)
    except ValidationError as error:
        details = [{"field": ".".join(str(p) for p in problem["loc"]) or where,
                    "problem": problem["msg"]} for problem in error.errors()]
        raise ApiError(422, "invalid_" + where,
                       f"The {where} has {len(details)} problem(s): {details[0]['field']}: "
                       f"{details[0]['problem']}.", details) from None
    # Any text field, whether or not its model says so: PostgreSQL text cannot hold NUL.
    if "\\u0000" in valid.model_dump_json():
        raise ApiError(422, "invalid_" + where, f"The {where} has a NUL character, which no "
                       "text may hold.", [{"field": where, "problem": "NUL character"}])
    return valid


def _respond(route: Route, payload: Any, status: int, replayed: bool = False) -> Response:
    if status == 204 or payload is None:
        return Response(status=204)
    payload = _trimmed(payload, request.args.get("fields"))
    body = json.dumps(payload, separators=(",", ":"), default=str)
    response = current_app.response_class(body, status=status, mimetype="application/json")
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    if route.method == "GET" and status == 200:
        response.set_etag(hashlib.sha256(body.encode()).hexdigest()[:32], weak=True)
        response.make_conditional(request)
    return response


def _trimmed(payload: Any, fields: str | None) -> Any:
    """``fields=id,name,price``: only those keys of each object (of ``items`` in a page), so a
    slow link carries only what the screen shows."""
    if not fields:
        return payload
    wanted = {name.strip() for name in fields.split(",") if name.strip()}

    def trim(item):
        return {k: v for k, v in item.items() if k in wanted} if isinstance(item, dict) else item

    if isinstance(payload, dict) and isinstance(payload.get("items"), list):
        return {**payload, "items": [trim(item) for item in payload["items"]]}
    if isinstance(payload, list):
        return [trim(item) for item in payload]
    return trim(payload)
