"""M-Pesa — being written (issue 5)."""
from __future__ import annotations

from payments.registry import register


class MpesaDaraja:
    name = "mpesa"
    label = "M-Pesa"
    signed = False
    pending_minutes = 5
    settings_fields: tuple[str, ...] = ()
    secret_fields: tuple[str, ...] = ()


provider = register(MpesaDaraja())
