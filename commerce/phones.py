"""Phone numbers: parsed once at the edge into E.164 with ``phonenumbers``."""
from __future__ import annotations

from functools import lru_cache

import phonenumbers

from commerce.errors import InvalidPhoneNumber


def to_e164(raw: str, region: str | None) -> str:
    """``"0712 345678"`` in KE, or ``"+254712345678"`` anywhere, becomes ``"+254712345678"``."""
    if not isinstance(raw, str):
        raise InvalidPhoneNumber(f"{raw!r} is not a phone number")
    return _parsed(raw, region)


# Parsing takes ~0.1 ms, and every USSD hop reads its caller's number again.
@lru_cache(maxsize=16384)
def _parsed(raw: str, region: str | None) -> str:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber(f"{raw!r} is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(f"{raw!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
