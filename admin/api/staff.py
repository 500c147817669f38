"""Staff and roles, and API keys for a merchant's own servers."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import generate_password_hash

from admin.api.auth import new_api_key
from admin.api.errors import ApiError
from admin.api.pages import Body, Page, PageQuery, paginate
from admin.api.permissions import ROLES, permissions_of
from admin.api.routing import endpoint, in_store
from admin.models import ApiKey, Staff
from commerce.db import utcnow
from commerce.errors import InvalidPhoneNumber
from commerce.phones import to_e164

Role = Literal["owner", "manager", "staff", "viewer"]
assert set(Role.__args__) == set(ROLES)  # one list of roles


class StaffOut(BaseModel):
    id: int
    phone: str
    name: str
    role: Role
    permissions: list[str]
    active: bool
    has_password: bool
    created_at: datetime
    last_sign_in_at: datetime | None


class StaffPage(Page[StaffOut]):
    pass


class NewStaff(Body):
    phone: str = Field(min_length=3, max_length=20)
    name: str = Field("", max_length=120)
    role: Role
    password: str | None = Field(None, min_length=10, max_length=200)


class StaffChange(Body):
    name: str | None = Field(None, max_length=120)
    role: Role | None = None
    active: bool | None = None
    password: str | None = Field(None, min_length=10, max_length=200)


class ApiKeyOut(BaseModel):
    id: int
    name: str
    prefix: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyPage(Page[ApiKeyOut]):
    pass


class NewApiKey(Body):
    name: str = Field(min_length=1, max_length=80)
    role: Role


class ApiKeyCreated(ApiKeyOut):
    key: str | None = Field(description="The whole key, shown this once: store it safely. "
                                        "A replay (same Idempotency-Key) gives null.")


def staff_out(staff: Staff) -> dict:
    return StaffOut(id=staff.id, phone=staff.phone, name=staff.name, role=staff.role,
                    permissions=sorted(permissions_of(staff.role)), active=staff.active,
                    has_password=bool(staff.password_hash), created_at=staff.created_at,
                    last_sign_in_at=staff.last_sign_in_at).model_dump(mode="json")


def key_out(key: ApiKey) -> dict:
    return ApiKeyOut.model_validate(key, from_attributes=True).model_dump(mode="json")


def _staff(call, staff_id: int) -> Staff:
    return in_store(call, Staff, staff_id, "staff member")


def _check_owner_kept(call, staff: Staff, change: StaffChange) -> None:
    """A store always keeps an active owner: the last one cannot be demoted or switched off."""
    leaving = staff.role == "owner" and staff.active and (
        (change.role is not None and change.role != "owner") or change.active is False)
    if not leaving:
        return
    owners = call.db.scalars(select(Staff.id).where(
        Staff.store_id == call.store_id, Staff.role == "owner", Staff.active.is_(True))).all()
    if len(owners) <= 1:
        raise ApiError(409, "last_owner", "A store needs an active owner: make someone else "
                                          "owner first.")


@endpoint("GET", "/staff", "staff:read", summary="List staff", query=PageQuery,
          response=StaffPage)
def list_staff(call):
    return paginate(call.db, select(Staff).where(Staff.store_id == call.store_id), Staff.id,
                    call.query, staff_out)


@endpoint("POST", "/staff", "staff:write", summary="Add a staff member", body=NewStaff,
          response=StaffOut, status=201)
def add_staff(call):
    body = call.body
    try:
        phone = to_e164(body.phone, call.store.country)
    except InvalidPhoneNumber:
        raise ApiError(422, "invalid_phone_number", "That is not a phone number we can "
                                                    "read.") from None
    staff = Staff(store_id=call.store_id, phone=phone, name=body.name.strip(), role=body.role,
                  password_hash=generate_password_hash(body.password) if body.password
                  else None)
    call.db.add(staff)
    try:
        call.db.commit()
    except IntegrityError:
        call.db.rollback()
        raise ApiError(409, "staff_exists", "This phone is already on the store's staff.") \
            from None
    return staff_out(staff)


@endpoint("GET", "/staff/<int:staff_id>", "staff:read", summary="One staff member",
          response=StaffOut)
def get_staff(call, staff_id: int):
    return staff_out(_staff(call, staff_id))


@endpoint("PATCH", "/staff/<int:staff_id>", "staff:write",
          summary="Change a staff member's name, role, password or switch them off",
          body=StaffChange, response=StaffOut)
def change_staff(call, staff_id: int):
    staff, change = _staff(call, staff_id), call.body
    _check_owner_kept(call, staff, change)
    if change.name is not None:
        staff.name = change.name.strip()
    if change.role is not None:
        staff.role = change.role
    if change.active is not None:
        staff.active = change.active
    if change.password is not None:
        staff.password_hash = generate_password_hash(change.password)
    call.db.commit()
    return staff_out(staff)


@endpoint("GET", "/api-keys", "staff:read", summary="List API keys (never their secrets)",
          tag="api-keys", query=PageQuery, response=ApiKeyPage)
def list_api_keys(call):
    return paginate(call.db, select(ApiKey).where(ApiKey.store_id == call.store_id),
                    ApiKey.id, call.query, key_out)


@endpoint("POST", "/api-keys", "staff:write", summary="Create an API key (shown once)",
          tag="api-keys", body=NewApiKey, response=ApiKeyCreated, status=201,
          secret_fields=("key",))
def create_api_key(call):
    whole, prefix, digest = new_api_key()
    key = ApiKey(store_id=call.store_id, name=call.body.name.strip(), prefix=prefix,
                 key_hash=digest, role=call.body.role)
    call.db.add(key)
    call.db.commit()
    return {**key_out(key), "key": whole}


@endpoint("DELETE", "/api-keys/<int:key_id>", "staff:write", summary="Revoke an API key",
          tag="api-keys", response=None, status=204)
def revoke_api_key(call, key_id: int):
    key = in_store(call, ApiKey, key_id, "API key")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        call.db.commit()
    return None
