"""Splitting a ``Reply`` into numbered-text pages that each fit a budget (a USSD screen, an
SMS of two parts). Choices keep their numbers across pages and are never split between
pages; ``98`` shows more and ``0`` goes back a page.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

from dialogs import BACK, HOME, Reply, Turn

MORE, PREVIOUS, HOME_KEY = "98", "0", "00"  # navigation keys on every text channel


class Labels(NamedTuple):
    """The navigation words, in the shopper's language."""

    more: str = "More"
    back: str = "Back"


class Alphabet(NamedTuple):
    """How a channel writes text: ``encode`` makes it sendable, ``length`` counts its cost."""

    encode: Callable[[str], str]
    length: Callable[[str], int]


def fit(text: str, budget: int, length: Callable[[str], int] = len) -> str:
    """Cut ``text`` to ``budget`` units at a word boundary, marking the cut with ``..``."""
    if length(text) <= budget:
        return text
    cut = text
    while cut and length(cut) > budget - 2:
        cut = cut[:-1]
    if " " in cut.strip():
        cut = cut[: cut.rstrip().rfind(" ")]
    return cut.rstrip() + ".."


def split(reply: Reply, labels: Labels, budget: int, alphabet: Alphabet) -> list[list[str]]:
    """The pages (lists of lines) of ``reply``, each at most ``budget`` long."""
    encode, length = alphabet

    def size(rows: list[str]) -> int:
        return sum(length(r) for r in rows) + max(len(rows) - 1, 0)  # lines + newlines

    header = encode(reply.text)
    if reply.ends:
        return [[fit(header, budget, length)]]
    rest = [encode(f"{n}. {c.label}") for n, c in enumerate(reply.choices, 1)]
    more = encode(f"{MORE}. {labels.more}")
    pages: list[list[str]] = []
    while True:
        first = not pages
        back = ([encode(f"{PREVIOUS}. {labels.back}")] if (reply.can_go_back or not first)
                else [])
        page: list[str] = []
        if first:  # the header shows once, leaving room for a choice and the navigation
            reserved = size(rest[:1] + [more] + back) + 1 if rest else size(back) + len(back)
            page = [fit(header, max(budget - reserved, 20), length)]
        if size(page + rest + back) <= budget:
            pages.append(page + rest + back)
            return pages
        shown = len(page)
        while rest and size(page + [rest[0], more] + back) <= budget:
            page.append(rest.pop(0))
        if len(page) == shown:  # a single choice too long for any page: shorten it
            page.append(fit(rest.pop(0), budget - size(page + [more] + back) - 1, length))
        pages.append(page + ([more] if rest else []) + back)
        if not rest:
            return pages


def read_input(raw: str, reply: Reply, turn: Turn) -> Turn:
    """What typed ``raw`` means on numbered-text ``reply``: home, back, a choice by its number
    (numbers run on across pages), or free text."""
    if raw == HOME_KEY:
        turn.choice = HOME
    elif raw == PREVIOUS:
        turn.choice = BACK
    elif reply.choices and raw.isdecimal() and 1 <= int(raw) <= len(reply.choices):
        turn.choice = reply.choices[int(raw) - 1].id
    else:
        turn.text = raw
    return turn
