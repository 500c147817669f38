"""Request and answer models shared by every resource, and cursor pagination.

Bodies are read strictly (``"5"`` is not a number, unknown fields are refused); query strings
are text by nature, so their numbers are read from text. Lists are newest first; ``cursor``
continues after the last item of the page before.
"""
from __future__ import annotations

import base64
from typing import Annotated, Callable, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Select
from sqlalchemy.orm import Session

from admin.api.errors import ApiError

T = TypeVar("T")

# PostgreSQL text cannot hold NUL: a string pattern refusing it before it reaches SQL.
NO_NUL = r"^[^\x00]*$"

# Database integers are 32-bit: a bigger number can name no row and must not reach SQL.
MAX_INT = 2_147_483_647
Id = Annotated[int, Field(ge=1, le=MAX_INT)]
Amount = Annotated[int, Field(ge=0, le=MAX_INT, description="Minor units (cents).")]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Query(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PageQuery(Query):
    limit: int = Field(50, ge=1, le=100, description="Items per page (1-100).")
    cursor: str | None = Field(None, max_length=64,
                               description="next_cursor of the page before.")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, number = text.partition(":")
        if kind == "id" and number.isdecimal() and int(number) <= MAX_INT:
            return int(number)
    except (ValueError, UnicodeDecodeError):
        pass
    raise ApiError(400, "bad_cursor", "The cursor is not one this API gave out.")


def paginate(db: Session, statement: Select, id_column, query: PageQuery,
             to_dict: Callable) -> dict:
    """One page of ``statement`` (already scoped to the store), newest first."""
    if query.cursor:
        statement = statement.where(id_column < decode_cursor(query.cursor))
    rows = list(db.scalars(statement.order_by(id_column.desc()).limit(query.limit + 1)))
    more = len(rows) > query.limit
    rows = rows[:query.limit]
    return {"items": [to_dict(row) for row in rows],
            "next_cursor": encode_cursor(rows[-1].id) if more and rows else None}
