"""``Idempotency-Key`` on ``POST``: the first answer is kept and replayed to every repeat.

The key is claimed (a row under a unique constraint) before the work starts, so two copies of
one request racing each other cannot both run: the second is told to wait (409). The same key
with a different body is a mistake in the client, refused with 422.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from flask import Request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from admin.api.auth import Principal
from admin.api.errors import ApiError
from admin.models import IdempotentRequest
from commerce.db import utcnow

KEPT_FOR = timedelta(hours=24)
IN_PROGRESS = 0  # the status of a claimed key whose first request has not answered yet


@dataclass(frozen=True)
class Replay:
    status: int
    response: object


def begin(db: Session, principal: Principal, request: Request):
    """``None`` (no key), a ``Replay`` of the first answer, or the claimed row."""
    key = (request.headers.get("Idempotency-Key") or "").strip()
    if not key:
        return None
    if len(key) > 120:
        raise ApiError(400, "bad_idempotency_key", "An Idempotency-Key is at most 120 "
                                                   "characters.")
    body_hash = hashlib.sha256(request.get_data()).hexdigest()
    method_path = f"{request.method} {request.path}"
    found = _find(db, principal, key)
    if found is not None and found.created_at < utcnow() - KEPT_FOR:
        db.delete(found)  # expired: the key may be used afresh
        db.commit()
        found = None
    if found is None:
        row = IdempotentRequest(store_id=principal.store_id, principal=principal.name, key=key,
                                method_path=method_path, body_hash=body_hash,
                                status=IN_PROGRESS)
        try:
            db.add(row)
            db.commit()
            return row
        except IntegrityError:
            db.rollback()
            found = _find(db, principal, key)
    if found.method_path != method_path or found.body_hash != body_hash:
        raise ApiError(422, "idempotency_key_reused",
                       "This Idempotency-Key was used for a different request.")
    if found.status == IN_PROGRESS:
        raise ApiError(409, "request_in_progress",
                       "The first request with this Idempotency-Key is still being answered; "
                       "try again in a moment.", headers={"Retry-After": "1"})
    return Replay(found.status, found.response)


def finish(db: Session, held, status: int, payload) -> None:
    if isinstance(held, IdempotentRequest):
        held.status, held.response = status, payload
        db.commit()


def release(db: Session, held) -> None:
    if isinstance(held, IdempotentRequest):
        db.execute(delete(IdempotentRequest).where(IdempotentRequest.id == held.id))
        db.commit()


def _find(db: Session, principal: Principal, key: str) -> IdempotentRequest | None:
    return db.scalar(select(IdempotentRequest).where(
        IdempotentRequest.store_id == principal.store_id,
        IdempotentRequest.principal == principal.name, IdempotentRequest.key == key))
