"""Card (Paystack) — being written (issue 5)."""
from __future__ import annotations

from payments.registry import register


class Paystack:
    name = "paystack"
    label = "Card (Paystack)"
    signed = True
    pending_minutes = 5
    settings_fields: tuple[str, ...] = ()
    secret_fields: tuple[str, ...] = ()


provider = register(Paystack())
