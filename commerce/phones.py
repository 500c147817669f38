"""Phone numbers: parsed once at the edge into E.164 with ``phonenumbers``."""
from __future__ import annotations

import phonenumbers

from commerce.errors import InvalidPhoneNumber


def to_e164(raw: str, region: str) -> str:
    """``"0712 345678"`` in KE, or ``"+254712345678"`` anywhere, becomes ``"+254712345678"``."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber(f"{raw!r} is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(f"{raw!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
