"""USSD screens: a ``Reply`` rendered as ``CON``/``END`` text within 160 GSM-7 characters.

Long lists are split into pages; choices keep their numbers across pages, ``98`` shows more and
``0`` goes back a page.
"""
from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from channels.gsm import gsm7_length, to_gsm7
from dialogs import Reply

SCREEN_LIMIT = 160  # characters including "CON "; telcos' safe budget (shared/reference §1.2)
MORE, PREVIOUS, HOME_KEY = "98", "0", "00"  # navigation keys on every screen


def fit(text: str, budget: int) -> str:
    """Cut ``text`` to ``budget`` GSM-7 units at a word boundary, marking the cut with ``..``."""
    if gsm7_length(text) <= budget:
        return text
    cut = text
    while cut and gsm7_length(cut) > budget - 2:
        cut = cut[:-1]
    if " " in cut.strip():
        cut = cut[: cut.rstrip().rfind(" ")]
    return cut.rstrip() + ".."


def _size(rows: list[str]) -> int:
    return sum(gsm7_length(r) for r in rows) + max(len(rows) - 1, 0)  # lines + newlines


class Labels(NamedTuple):
    """The navigation words, in the shopper's language."""

    more: str = "More"
    back: str = "Back"


def paginate(reply: Reply, labels: Labels = Labels()) -> list[list[str]]:
    """Split a reply into screens (lists of lines) that each fit ``SCREEN_LIMIT``.

    Choices keep their numbers across pages, and a choice is never split between pages.
    """
    return [list(page) for page in _paginate(reply, labels)]


# Most screens (home, a category's products) are the same for many shoppers, and measuring
# them character by character costs more than the rest of rendering: remember the last ones.
@lru_cache(maxsize=2048)
def _paginate(reply: Reply, labels: Labels) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(page) for page in _split(reply, labels))


def _split(reply: Reply, labels: Labels) -> list[list[str]]:
    budget = SCREEN_LIMIT - len("CON ")
    header = to_gsm7(reply.text)
    if reply.ends:
        return [[fit(header, budget)]]
    rest = [to_gsm7(f"{n}. {c.label}") for n, c in enumerate(reply.choices, 1)]
    more = to_gsm7(f"{MORE}. {labels.more}")
    pages: list[list[str]] = []
    while True:
        first = not pages
        back = ([to_gsm7(f"{PREVIOUS}. {labels.back}")] if (reply.can_go_back or not first)
                else [])
        page: list[str] = []
        if first:  # the header shows once, leaving room for a choice and the navigation
            reserved = _size(rest[:1] + [more] + back) + 1 if rest else _size(back) + len(back)
            page = [fit(header, max(budget - reserved, 20))]
        if _size(page + rest + back) <= budget:
            pages.append(page + rest + back)
            return pages
        shown = len(page)
        while rest and _size(page + [rest[0], more] + back) <= budget:
            page.append(rest.pop(0))
        if len(page) == shown:  # a single choice too long for any screen: shorten it
            page.append(fit(rest.pop(0), budget - _size(page + [more] + back) - 1))
        pages.append(page + ([more] if rest else []) + back)
        if not rest:
            return pages


def page_count(reply: Reply, labels: Labels = Labels()) -> int:
    return len(_paginate(reply, labels))


def render(reply: Reply, page: int = 0, labels: Labels = Labels()) -> str:
    pages = _paginate(reply, labels)
    page = min(page, len(pages) - 1)
    return ("END " if reply.ends else "CON ") + "\n".join(pages[page])
