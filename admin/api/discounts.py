"""Discount codes: a percentage or a fixed amount off, with a minimum order, a validity window
and usage limits. ``commerce.promotions`` keeps the rules a code must follow (its
``do_create_discount_code`` and ``do_update_discount_code`` check, then commit), and checks and
redeems codes at checkout.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field
from sqlalchemy import select

from admin.api.pages import NO_NUL, Amount, Body, Page, PageQuery, paginate
from admin.api.routing import endpoint
from commerce import promotions
from commerce.models import DiscountCode
from commerce.promotions import normalise_code

MAX_USES = 10_000_000
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc)


def _in_range(at: datetime) -> datetime:
    if not EARLIEST <= at <= LATEST:
        raise ValueError("must be between 2000 and 2100")
    return at.astimezone(timezone.utc)


When = Annotated[AwareDatetime, AfterValidator(_in_range)]
Kind = Literal["percentage", "fixed"]
Code = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_ -]*[A-Za-z0-9]"
                                                                 r"[A-Za-z0-9_ -]*$")]
Uses = Annotated[int, Field(ge=1, le=MAX_USES)]


class DiscountOut(BaseModel):
    id: int
    code: str
    kind: Kind
    value: int = Field(description="percentage: basis points (1000 = 10 %); fixed: minor units.")
    min_order: int
    starts_at: datetime | None
    ends_at: datetime | None
    usage_limit: int | None
    per_customer_limit: int | None
    first_order_only: bool
    active: bool
    times_used: int
    created_at: datetime


class DiscountPage(Page[DiscountOut]):
    pass


class DiscountQuery(PageQuery):
    active: bool | None = None
    q: str | None = Field(None, min_length=1, max_length=40, pattern=NO_NUL,
                          description="Part of the code.")


class NewDiscount(Body):
    code: Code = Field(description="Letters and digits; kept upper-case, spaces dropped.")
    kind: Kind
    value: int = Field(ge=1, le=2_147_483_647,
                       description="percentage: basis points, at most 10000; fixed: minor "
                                   "units.")
    min_order: Amount = 0
    starts_at: When | None = None
    ends_at: When | None = None
    usage_limit: Uses | None = None
    per_customer_limit: Uses | None = None
    first_order_only: bool = False
    active: bool = True


class DiscountChange(Body):
    """Only the fields sent change; null clears starts_at, ends_at and the limits."""

    code: Code | None = None
    kind: Kind | None = None
    value: int | None = Field(None, ge=1, le=2_147_483_647)
    min_order: Amount | None = None
    starts_at: When | None = None
    ends_at: When | None = None
    usage_limit: Uses | None = None
    per_customer_limit: Uses | None = None
    first_order_only: bool | None = None
    active: bool | None = None


NULLABLE = {"starts_at", "ends_at", "usage_limit", "per_customer_limit"}


def discount_out(discount: DiscountCode) -> dict:
    return DiscountOut.model_validate(discount, from_attributes=True).model_dump(mode="json")


@endpoint("GET", "/discount-codes", "discounts:read", summary="List discount codes",
          tag="discounts", query=DiscountQuery, response=DiscountPage)
def list_discounts(call):
    query = call.query
    statement = select(DiscountCode).where(DiscountCode.store_id == call.store_id)
    if query.active is not None:
        statement = statement.where(DiscountCode.active.is_(query.active))
    if query.q is not None and normalise_code(query.q):
        statement = statement.where(DiscountCode.code.contains(normalise_code(query.q),
                                                               autoescape=True))
    return paginate(call.db, statement, DiscountCode.id, query, discount_out)


@endpoint("POST", "/discount-codes", "discounts:write", summary="Create a discount code",
          tag="discounts", body=NewDiscount, response=DiscountOut, status=201)
def create_discount(call):
    return discount_out(promotions.do_create_discount_code(call.db, call.store,
                                                           **call.body.model_dump()))


@endpoint("GET", "/discount-codes/<int:discount_id>", "discounts:read",
          summary="One discount code", tag="discounts", response=DiscountOut)
def get_discount(call, discount_id: int):
    return discount_out(promotions.find_discount_code(call.db, call.store_id, discount_id))


@endpoint("PATCH", "/discount-codes/<int:discount_id>", "discounts:write",
          summary="Change a discount code", tag="discounts", body=DiscountChange,
          response=DiscountOut)
def change_discount(call, discount_id: int):
    body = call.body
    changes = {name: getattr(body, name) for name in body.model_fields_set
               if getattr(body, name) is not None or name in NULLABLE}
    return discount_out(promotions.do_update_discount_code(call.db, call.store, discount_id,
                                                           **changes))


@endpoint("POST", "/discount-codes/<int:discount_id>/deactivate", "discounts:write",
          summary="Stop a discount code from being used", tag="discounts",
          response=DiscountOut)
def deactivate_discount(call, discount_id: int):
    return discount_out(promotions.do_update_discount_code(call.db, call.store, discount_id,
                                                           active=False))
