"""Africa's Talking's end-of-session notifications: read, check and record them.

AT posts one when a session ends (``Success``: our ``END`` was shown; ``Incomplete``: the
shopper cancelled or timed out on a ``CON`` screen; ``Failed``: AT got an error from us). It is
the only server-side sign of a drop. We keep one row per session for analytics: AT may send a
notification again, and a repeat is acknowledged without a second row.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from channels.models import SESSION_END_STATUSES, UssdSessionEnd
from commerce.errors import InvalidPhoneNumber
from commerce.phones import to_e164

REQUIRED = ("sessionId", "serviceCode", "phoneNumber", "status")
LIMITS = {  # longest accepted value of each short field
    "sessionId": 100, "serviceCode": 40, "phoneNumber": 32, "networkCode": 10,
          "status": 12, "cost": 32}
TEXTS = ("input", "lastAppResponse", "errorMessage")
COUNTS = ("durationInMillis", "hopsCount")
TEXT_LIMIT = 2000  # a USSD screen is at most 182 characters; anything longer is cut here
MAX_COUNT = 2**31 - 1


class BadSessionEnd(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def international(raw: str) -> str:
    """``raw`` in E.164 when it is written internationally (AT sends ``+2547...``), else as is."""
    try:
        return to_e164(raw, None)
    except InvalidPhoneNumber:
        return raw.strip()


def parse(form) -> dict:
    """The notification's fields as ``UssdSessionEnd`` columns; ``BadSessionEnd`` if unfit."""
    for name, value in form.items(multi=True):
        if "\x00" in value:
            raise BadSessionEnd("invalid_field", f"{name} contains a NUL character.")
    for name in REQUIRED:
        if not form.get(name, "").strip():
            raise BadSessionEnd("missing_field", f"{name} is required.")
    for name, limit in LIMITS.items():
        if len(form.get(name, "").strip()) > limit:
            raise BadSessionEnd("invalid_field", f"{name} is longer than {limit} characters.")
    status = form["status"].strip()
    if status not in SESSION_END_STATUSES:
        raise BadSessionEnd("invalid_field",
                            "status must be one of " + ", ".join(SESSION_END_STATUSES) + ".")
    counts = {}
    for name in COUNTS:
        value = form.get(name, "").strip()
        if value and not (value.isascii() and value.isdecimal() and int(value) <= MAX_COUNT):
            raise BadSessionEnd("invalid_field", f"{name} must be a whole number.")
        counts[name] = int(value) if value else None
    texts = {name: form[name][:TEXT_LIMIT] if name in form else None for name in TEXTS}
    return {
        "session_id": form["sessionId"].strip(),
        "service_code": form["serviceCode"].strip(),
        "phone": international(form["phoneNumber"]),
        "network_code": form.get("networkCode", "").strip() or None,
        "status": status,
        "duration_ms": counts["durationInMillis"],
        "hops": counts["hopsCount"],
        "input": texts["input"],
        "last_screen": texts["lastAppResponse"],
        "error_message": texts["errorMessage"] or None,
        "cost": form.get("cost", "").strip() or None,
    }


def record(db, fields: dict) -> bool:
    """Store the notification once; False when this session's was already stored."""
    exists = select(UssdSessionEnd.id).where(UssdSessionEnd.session_id == fields["session_id"])
    if db.scalar(exists) is not None:
        return False
    db.add(UssdSessionEnd(**fields))
    try:
        db.commit()
    except IntegrityError:  # the same notification, recorded by a concurrent request
        db.rollback()
        if db.scalar(exists) is not None:
            return False
        raise
    return True
