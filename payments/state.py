"""The payment state machine: ``created → pending → succeeded | failed | cancelled | expired``.

A settled payment does not change, with one exception: a provider that reports money taken
after we gave up waiting (``expired``, or a timed-out ``failed``) is believed — the money is real,
so it is recorded and the merchant can refund it.
"""
from __future__ import annotations

from payments.base import CANCELLED, CREATED, EXPIRED, FAILED, PENDING, SUCCEEDED

MOVES = {
    CREATED: {PENDING, SUCCEEDED, FAILED},  # a provider may settle as it accepts
    PENDING: {SUCCEEDED, FAILED, CANCELLED, EXPIRED},
    EXPIRED: {SUCCEEDED},  # late money is still money
    FAILED: {SUCCEEDED},
    CANCELLED: set(),
    SUCCEEDED: set(),
}


def can_move(current: str, new: str) -> bool:
    return new in MOVES.get(current, set())
