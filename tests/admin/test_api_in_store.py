"""``in_store``: one store's row by id, or the API's 404, whoever else's row has that id."""
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from admin.api.errors import ApiError
from admin.api.routing import Call, in_store
from admin.models import Staff
from commerce.models import Stock
from tests.admin.conftest import add_staff


def call_of(db, store) -> Call:
    return Call(db, SimpleNamespace(store_id=store.id))


def test_a_row_of_the_callers_store_is_found(db, store):
    staff = add_staff(db, store, "+254711000001", role="viewer")
    assert in_store(call_of(db, store), Staff, staff.id, "staff member") is staff


def test_another_stores_row_is_as_missing_as_none(db, store, other_store):
    theirs = add_staff(db, other_store, "+254711000002", role="viewer")
    stock_ids = db.scalars(select(Stock.id).where(Stock.store_id == store.id)).all()
    for model, row_id, what in ((Staff, theirs.id, "staff member"),
                                (Stock, max(stock_ids) + 1000, "stock level")):
        with pytest.raises(ApiError) as missing:
            in_store(call_of(db, store), model, row_id, what)
        assert (missing.value.status, missing.value.code, missing.value.message) == \
            (404, "not_found", f"No such {what} in this store.")
    assert in_store(call_of(db, other_store), Staff, theirs.id, "staff member") is theirs
