"""USSD screens: a ``Reply`` rendered as ``CON``/``END`` text within 160 GSM-7 characters.

Long lists are split into pages; choices keep their numbers across pages, ``98`` shows more and
``0`` goes back a page.
"""
from __future__ import annotations

from functools import lru_cache

from channels.gsm import gsm7_length, to_gsm7
from channels.paging import (
    HOME_KEY, MORE, PREVIOUS, Alphabet, Labels, fit, page_listing, split,
)
from dialogs import Reply

__all__ = ["HOME_KEY", "MORE", "PREVIOUS", "Labels", "fit", "paginate", "page_count",
           "page_showing", "render"]

SCREEN_LIMIT = 160  # characters including "CON "; telcos' safe budget (shared/reference §1.2)
GSM7 = Alphabet(to_gsm7, gsm7_length)


def paginate(reply: Reply, labels: Labels = Labels()) -> list[list[str]]:
    """Split a reply into screens (lists of lines) that each fit ``SCREEN_LIMIT``.

    Choices keep their numbers across pages, and a choice is never split between pages.
    """
    return [list(page) for page in _paginate(reply, labels)]


# Most screens (home, a category's products) are the same for many shoppers, and measuring
# them character by character costs more than the rest of rendering: remember the last ones.
@lru_cache(maxsize=2048)
def _paginate(reply: Reply, labels: Labels) -> tuple[tuple[str, ...], ...]:
    pages = split(reply, labels, SCREEN_LIMIT - len("CON "), GSM7)
    return tuple(tuple(page) for page in pages)


def page_count(reply: Reply, labels: Labels = Labels()) -> int:
    return len(_paginate(reply, labels))


def page_showing(reply: Reply, choice_ids: list[str], labels: Labels = Labels()) -> int:
    """The page of ``reply`` that lists the first of ``choice_ids`` it offers; 0 if none."""
    return page_listing(_paginate(reply, labels), reply, choice_ids, GSM7.encode)


def render(reply: Reply, page: int = 0, labels: Labels = Labels()) -> str:
    pages = _paginate(reply, labels)
    page = min(page, len(pages) - 1)
    return ("END " if reply.ends else "CON ") + "\n".join(pages[page])
