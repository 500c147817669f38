"""Signing in: a one-time code by SMS (or a password), then JWTs; refreshing them.

A code lives 5 minutes and allows 5 tries; codes are limited per phone and per IP. The answer to
"send me a code" is the same whether or not the phone belongs to staff, so it tells a stranger
nothing.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time

from flask import request
from pydantic import BaseModel, Field
from sqlalchemy import select
from werkzeug.security import check_password_hash

from admin.api.auth import issue_tokens, staff_for_refresh
from admin.api.errors import ApiError
from admin.api.pages import Body
from admin.api.routing import endpoint
from admin.context import services
from admin.models import Staff
from commerce.db import utcnow
from commerce.errors import InvalidPhoneNumber
from commerce.models import Store
from commerce.phones import to_e164
from commerce.stores import get_store_by_slug

CODE_TTL = 300
MAX_TRIES = 5
CODES_PER_PHONE = 3  # per 10 minutes
CODES_PER_IP = 20
SENT = {"status": "sent", "message": "If this phone belongs to the store's staff, a code is "
                                     "on its way by SMS. It works for 5 minutes."}


class CodeRequest(Body):
    store: str = Field(min_length=1, max_length=60, description="The store's slug.")
    phone: str = Field(min_length=3, max_length=20)


class CodeSignIn(CodeRequest):
    code: str = Field(pattern=r"^\d{6}$")


class PasswordSignIn(CodeRequest):
    password: str = Field(min_length=1, max_length=200)


class Refresh(Body):
    refresh_token: str = Field(min_length=10, max_length=2000)


class Tokens(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int


class CodeSent(BaseModel):
    status: str
    message: str


# -- the codes ---------------------------------------------------------------------------------
class InProcessCodes:
    def __init__(self):
        self._codes: dict[str, tuple[float, dict]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> dict | None:
        with self._lock:
            expires, value = self._codes.get(key, (0, None))
            return dict(value) if value is not None and expires > time.monotonic() else None

    def set(self, key: str, value: dict, ttl: int) -> None:
        with self._lock:
            self._codes[key] = (time.monotonic() + ttl, dict(value))

    def delete(self, key: str) -> None:
        with self._lock:
            self._codes.pop(key, None)


class RedisCodes:
    def __init__(self, redis, prefix: str = "duka:otp:"):
        self.redis, self.prefix = redis, prefix

    def get(self, key: str) -> dict | None:
        raw = self.redis.get(self.prefix + key)
        return json.loads(raw) if raw else None

    def set(self, key: str, value: dict, ttl: int) -> None:
        self.redis.set(self.prefix + key, json.dumps(value), ex=ttl)

    def delete(self, key: str) -> None:
        self.redis.delete(self.prefix + key)


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _store_and_phone(db, body: CodeRequest) -> tuple[Store | None, str | None]:
    store = get_store_by_slug(db, body.store.strip().lower())
    if store is None:
        return None, None
    try:
        return store, to_e164(body.phone, store.country)
    except InvalidPhoneNumber:
        raise ApiError(422, "invalid_phone_number", "That is not a phone number we can "
                                                    "read.") from None


def _limit(key: str, most: int, window: int) -> None:
    limiter = services().ratelimit
    if not limiter.hit(key, most, window):
        wait = window - int(time.time()) % window
        raise ApiError(429, "too_many_requests", "Too many codes asked for; try again later.",
                       headers={"Retry-After": str(wait)})


@endpoint("POST", "/auth/code", None, summary="Send a sign-in code by SMS", tag="auth",
          body=CodeRequest, response=CodeSent, status=202)
def send_code(call):
    ctx = services()
    _limit(f"otp-ip:{request.remote_addr}", CODES_PER_IP, 600)
    store, phone = _store_and_phone(call.db, call.body)
    if store is None:
        return SENT, 202
    _limit(f"otp-phone:{store.id}:{phone}", CODES_PER_PHONE, 600)
    staff = call.db.scalar(select(Staff).where(Staff.store_id == store.id, Staff.phone == phone,
                                               Staff.active.is_(True)))
    if staff is not None:
        code = f"{secrets.randbelow(1_000_000):06d}"
        ctx.codes.set(f"{store.id}:{phone}", {"digest": _digest(code), "tries": 0}, CODE_TTL)
        ctx.send_sms(store.id, phone, f"{store.name}: your Duka sign-in code is {code}. It "
                                      "works for 5 minutes. Never share it.")
    return SENT, 202


@endpoint("POST", "/auth/code/verify", None, summary="Sign in with the SMS code", tag="auth",
          body=CodeSignIn, response=Tokens)
def sign_in_with_code(call):
    ctx = services()
    _limit(f"otp-verify-ip:{request.remote_addr}", 60, 600)
    store, phone = _store_and_phone(call.db, call.body)
    wrong = ApiError(401, "invalid_code", "That code is wrong or has expired.")
    if store is None:
        raise wrong
    key = f"{store.id}:{phone}"
    saved = ctx.codes.get(key)
    if saved is None:
        raise wrong
    if not hmac.compare_digest(saved["digest"], _digest(call.body.code)):
        saved["tries"] += 1
        if saved["tries"] >= MAX_TRIES:
            ctx.codes.delete(key)  # five wrong tries: this code is burnt
        else:
            ctx.codes.set(key, saved, CODE_TTL)
        raise wrong
    ctx.codes.delete(key)  # a code works once
    return _signed_in(call.db, store, phone)


@endpoint("POST", "/auth/password", None, summary="Sign in with a password", tag="auth",
          body=PasswordSignIn, response=Tokens)
def sign_in_with_password(call):
    _limit(f"password-ip:{request.remote_addr}", 30, 600)
    store, phone = _store_and_phone(call.db, call.body)
    staff = None if store is None else call.db.scalar(
        select(Staff).where(Staff.store_id == store.id, Staff.phone == phone))
    if staff is None or not staff.password_hash or not check_password_hash(
            staff.password_hash, call.body.password):
        raise ApiError(401, "invalid_credentials", "The phone or password is wrong.")
    return _signed_in(call.db, store, phone)


@endpoint("POST", "/auth/refresh", None, summary="New tokens for a refresh token", tag="auth",
          body=Refresh, response=Tokens)
def refresh_tokens(call):
    return issue_tokens(staff_for_refresh(call.db, call.body.refresh_token))


def _signed_in(db, store: Store, phone: str) -> dict:
    staff = db.scalar(select(Staff).where(Staff.store_id == store.id, Staff.phone == phone))
    if staff is None or not staff.active:
        raise ApiError(401, "invalid_credentials", "This phone cannot sign in to this store.")
    staff.last_sign_in_at = utcnow()
    db.commit()
    return issue_tokens(staff)
