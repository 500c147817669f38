"""Fixtures for the merchant API: a signed-in owner of the demo store, and another store."""
import pytest
from sqlalchemy import select

from admin.api.auth import issue_tokens
from admin.models import Staff
from commerce.stores import do_create_store

OWNER_PHONE = "+254700123456"


@pytest.fixture
def app(make_app):
    """As the tests' app everywhere, with plain-http webhook URLs allowed: the tests' receivers
    listen on 127.0.0.1 (a production server keeps WEBHOOKS_ALLOW_INSECURE off)."""
    return make_app(WEBHOOKS_ALLOW_INSECURE="1")


@pytest.fixture
def api(app):
    return app.test_client()


def add_staff(db, store, phone, role="owner", password_hash=None) -> Staff:
    staff = Staff(store_id=store.id, phone=phone, name="", role=role,
                  password_hash=password_hash)
    db.add(staff)
    db.commit()
    return staff


def bearer(app, staff: Staff) -> dict:
    with app.app_context():
        return {"Authorization": f"Bearer {issue_tokens(staff)['access_token']}"}


@pytest.fixture
def owner(app, db, store):
    """Headers of the demo store's owner."""
    return bearer(app, add_staff(db, store, OWNER_PHONE))


@pytest.fixture
def other_store(db):
    return do_create_store(db, "duka-ya-juma", "Duka ya Juma", "KES", "KE", "en", "en",
                           "Africa/Nairobi")


@pytest.fixture
def other_owner(app, db, other_store):
    return bearer(app, add_staff(db, other_store, "+254733000111"))


def error_of(answer) -> tuple[int, str]:
    """The status and error code of an API refusal, checking the error's shape on the way."""
    body = answer.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return answer.status_code, body["error"]["code"]


def staff_row(db, store, phone) -> Staff:
    return db.scalar(select(Staff).where(Staff.store_id == store.id, Staff.phone == phone))
