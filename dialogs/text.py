"""Small helpers for the words on a screen."""
from __future__ import annotations

from commerce.errors import N_  # noqa: F401 (the one marker, also for dialogs' messages)
from commerce.money import Money
from dialogs.base import Turn


PICK_FROM_LIST = N_("Please reply with a number from the list.")
# Words a channel adds around a dialog's screen (navigation, picking up a dropped session).
MORE = N_("More")
BACK = N_("Back")
CONTINUE_QUESTION = N_("Continue where you left off?")
YES = N_("Yes")
NO = N_("No")
# Lines of a cart or an order listed on its screen; the rest are "+N more" (a cart lists them
# all, with prices, under Change quantities; an order's receipt has them all).
LINES_SHOWN = 4


def price(money: Money, turn: Turn) -> str:
    """``KSh 120`` rather than ``KSh 120.00``: every character counts on a USSD screen."""
    return money.format_short(turn.money_locale)


def with_note(note: str, text: str) -> str:
    return f"{note}\n{text}" if note else text


def pick_from_list(turn: Turn) -> str:
    return turn.t(PICK_FROM_LIST)
