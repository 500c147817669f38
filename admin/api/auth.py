"""Who is calling: a staff member with a JWT access token, or a server with an API key.

Access tokens live 15 minutes and carry ``sub``, ``store_id``, ``role`` and ``permissions``;
a refresh token (30 days) gets a new pair. Both are signed (HS256) with ``SECRET_KEY``. An API
key is ``dk_<prefix>_<secret>``: the prefix finds the row, the secret's SHA-256 must match.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

import jwt
from flask import Request, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin.api.errors import ApiError
from admin.api.permissions import permissions_of
from admin.models import ApiKey, Staff
from commerce.db import utcnow

ACCESS_TTL = timedelta(minutes=15)
REFRESH_TTL = timedelta(days=30)
ALGORITHM = "HS256"
KEY_PREFIX = "dk_"


@dataclass(frozen=True)
class Principal:
    name: str  # "staff:12", "key:3", or "" for nobody
    store_id: int = 0
    role: str = ""
    permissions: frozenset[str] = frozenset()

    @property
    def authenticated(self) -> bool:
        return bool(self.name)


NOBODY = Principal("")


def _secret() -> str:
    return current_app.config["SECRET_KEY"]


def issue_tokens(staff: Staff) -> dict:
    now = utcnow()
    common = {"sub": f"staff:{staff.id}", "store_id": staff.store_id, "role": staff.role,
              "iat": now}
    access = jwt.encode({**common, "type": "access", "exp": now + ACCESS_TTL,
                         "permissions": sorted(permissions_of(staff.role))},
                        _secret(), algorithm=ALGORITHM)
    refresh = jwt.encode({**common, "type": "refresh", "exp": now + REFRESH_TTL,
                          "jti": uuid.uuid4().hex}, _secret(), algorithm=ALGORITHM)
    return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
            "expires_in": int(ACCESS_TTL.total_seconds())}


def decode(token: str, kind: str) -> dict:
    try:
        claims = jwt.decode(token, _secret(), algorithms=[ALGORITHM],
                            options={"require": ["exp", "sub", "store_id", "type"]})
    except jwt.ExpiredSignatureError:
        raise ApiError(401, "token_expired", "The token has expired; refresh or sign in "
                                             "again.") from None
    except jwt.InvalidTokenError:
        raise ApiError(401, "invalid_token", "The token is not valid.") from None
    if claims.get("type") != kind:
        raise ApiError(401, "invalid_token", f"This is not an {kind} token.")
    return claims


def staff_for_refresh(db: Session, token: str) -> Staff:
    claims = decode(token, "refresh")
    staff = _active_staff(db, claims)
    if staff is None:
        raise ApiError(401, "invalid_token", "This staff member can no longer sign in.")
    return staff


def _active_staff(db: Session, claims: dict) -> Staff | None:
    kind, _, number = str(claims["sub"]).partition(":")
    if kind != "staff" or not number.isdecimal():
        return None
    staff = db.get(Staff, int(number))
    if staff is None or not staff.active or staff.store_id != claims["store_id"]:
        return None
    return staff


def authenticate(db: Session, request: Request, required: bool = True) -> Principal:
    header = request.headers.get("Authorization", "")
    api_key = request.headers.get("X-Api-Key", "")
    if header.startswith("Bearer "):
        claims = decode(header[len("Bearer "):].strip(), "access")
        staff = _active_staff(db, claims)
        if staff is None:  # removed or deactivated since the token was issued
            raise ApiError(401, "invalid_token", "This staff member can no longer sign in.")
        # The role as it is now, not as the token says: a demotion takes effect at once.
        return Principal(f"staff:{staff.id}", staff.store_id, staff.role,
                         permissions_of(staff.role))
    if api_key:
        key = find_api_key(db, api_key)
        if key is None:
            raise ApiError(401, "invalid_api_key", "The API key is not valid.")
        key.last_used_at = utcnow()
        db.commit()
        return Principal(f"key:{key.id}", key.store_id, key.role, permissions_of(key.role))
    if required:
        raise ApiError(401, "unauthenticated", "Sign in: send Authorization: Bearer <access "
                                               "token>, or X-Api-Key.",
                       headers={"WWW-Authenticate": "Bearer"})
    return NOBODY


# -- API keys ---------------------------------------------------------------------------------
def new_api_key() -> tuple[str, str, str]:
    """(the whole key, shown once; its prefix; the hash kept)."""
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    return f"{KEY_PREFIX}{prefix}_{secret}", prefix, _hash(secret)


def find_api_key(db: Session, presented: str) -> ApiKey | None:
    if not presented.startswith(KEY_PREFIX) or presented.count("_") < 2:
        return None
    prefix, _, secret = presented[len(KEY_PREFIX):].partition("_")
    key = db.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or key.revoked_at is not None:
        return None
    return key if hmac.compare_digest(key.key_hash, _hash(secret)) else None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
