"""Splitting a ``Reply`` into numbered-text pages that each fit a budget (a USSD screen, an
SMS of two parts). The reply's text is never shortened: what does not fit carries on after
``98``, a line kept whole when it fits a page, else split between words. Choices keep their
numbers across pages and are never split between pages; ``98`` shows more and ``0`` goes back
a page, so no choice is numbered 98.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

from dialogs import BACK, HOME, Reply, Turn

MORE, PREVIOUS, HOME_KEY = "98", "0", "00"  # navigation keys on every text channel
PICKED_KEPT = 4  # the choices last picked, newest first: a list a step back opens at theirs
WORD = 15  # a cut backs off to a space only if that loses at most this much (one usual word)


class Labels(NamedTuple):
    """The navigation words, in the shopper's language."""

    more: str = "More"
    back: str = "Back"


class Alphabet(NamedTuple):
    """How a channel writes text: ``encode`` makes it sendable, ``length`` counts its cost."""

    encode: Callable[[str], str]
    length: Callable[[str], int]


def number(index: int) -> int:
    """The number choice ``index`` (from 0) is shown with: 1..97, then 99, 100...

    ``98`` is the More key on every page and is read before choices, so a choice numbered 98
    could not be picked from a page that has a next one. Skipping the number, rather than
    capping a reply at 97 choices, keeps every product of a big category reachable. ``0`` and
    ``00`` never come up: numbers start at 1.
    """
    return index + 1 if index + 1 < int(MORE) else index + 2


def index_of(typed: int) -> int | None:
    """The choice index shown as ``typed`` (the inverse of ``number``); None for 98."""
    if typed == int(MORE):
        return None
    return typed - 1 if typed < int(MORE) else typed - 2


def _prefix(text: str, budget: int, length: Callable[[str], int]) -> str:
    """The longest start of ``text`` within ``budget`` units (lengths add up char by char)."""
    used = 0
    for i, char in enumerate(text):
        used += length(char)
        if used > budget:
            return text[:i]
    return text


def fit(text: str, budget: int, length: Callable[[str], int] = len,
        whole_words: bool = False) -> str:
    """Cut ``text`` to ``budget`` units, marking the cut with ``..``, at a word boundary.

    With ``whole_words`` (an END screen, an SMS: read, not picked) the cut always backs off to
    the last whole word, and falls mid-word only when not one word fits. Without it (a choice's
    label) it backs off only when that loses at most a usual word: a 115-letter product name
    keeps as much of itself as fits, so the shopper can still tell which one it is.
    """
    if length(text) <= budget:
        return text
    cut = _prefix(text, budget - 2, length)
    if not text[len(cut)].isspace():  # the cut falls inside a word
        space = max(cut.rfind(" "), cut.rfind("\n"))
        if space > 0 and (whole_words or len(cut) - space <= WORD):
            cut = cut[:space]
    return cut.rstrip() + ".."


def _words(line: str, budget: int, length: Callable[[str], int]) -> str:
    """The most whole words from the start of ``line`` within ``budget``; "" if not one."""
    head = _prefix(line, budget, length)
    if len(head) < len(line) and line[len(head)] != " ":
        head = head[:head.rfind(" ")] if " " in head else ""
    return head.rstrip(" ")


def _fill(rest: list[tuple[str, bool]], room: int, length: Callable[[str], int]) -> list[str]:
    """Take from ``rest`` (lines, each flagged text or choice) the lines of one page whose
    content may be ``room`` long. Text carries on to the next page (never shortened); a choice
    goes whole to the next page, and is shortened only when it is alone and still too long."""
    page: list[str] = []
    used = -1  # the page's size so far; the first line needs no newline before it
    while rest:
        line, is_text = rest[0]
        free = room - used - 1
        if length(line) <= free:
            page.append(line)
            used += length(line) + 1
            rest.pop(0)
            continue
        if not is_text:
            if not page:  # too long for any page: keep as much of the label as fits
                page.append(fit(line, free, length))
                rest.pop(0)
            break
        if page and length(line) <= room:  # a line that fits a page is kept whole
            break
        head = _words(line, free, length)
        if not head and not page:  # one word longer than a whole page: cut it, as a last resort
            head = _prefix(line, free, length) or line[:1]
        if head:
            page.append(head)
            tail = line[len(head):].lstrip(" ")
            if tail:
                rest[0] = (tail, True)
            else:
                rest.pop(0)
        break
    return page


def split(reply: Reply, labels: Labels, budget: int, alphabet: Alphabet) -> list[list[str]]:
    """The pages (lists of lines) of ``reply``, each at most ``budget`` long."""
    encode, length = alphabet

    def size(rows: list[str]) -> int:
        return sum(length(r) for r in rows) + max(len(rows) - 1, 0)  # lines + newlines

    text = encode(reply.text)
    if reply.ends:  # an END screen cannot page: it is cut to the one screen there is
        return [[fit(text, budget, length, whole_words=True)]]
    more = encode(f"{MORE}. {labels.more}")
    back = encode(f"{PREVIOUS}. {labels.back}")
    rest = [(line, True) for line in text.split("\n")]
    rest += [(encode(f"{number(i)}. {c.label}"), False) for i, c in enumerate(reply.choices)]
    pages: list[list[str]] = []
    while True:
        nav = [back] if reply.can_go_back or pages else []
        lines = [line for line, _ in rest]
        if size(lines + nav) <= budget:
            pages.append(lines + nav)
            return pages
        # A last choice alone on its page needs no More: it may use that room too.
        tail = [more] + nav if len(rest) > 1 or rest[0][1] else nav
        page = _fill(rest, max(budget - size(tail) - 1, 1), length)  # 1: always progress
        pages.append(page + ([more] if rest else []) + nav)
        if not rest:
            return pages


def remember_picked(turn: Turn, picked: list[str]) -> list[str]:
    """The choices last picked (a session keeps them), with the one ``turn`` picks first."""
    if turn.choice and turn.choice not in (BACK, HOME):
        return [turn.choice, *picked][:PICKED_KEPT]
    return picked


def page_listing(pages, reply: Reply, choice_ids: list[str], encode: Callable[[str], str]) -> int:
    """Which of ``pages`` (each a list of lines) lists the first of ``choice_ids`` that
    ``reply`` offers; 0 if none does. Back to a list opens it where the shopper picked."""
    offered = [choice.id for choice in reply.choices]
    for choice_id in choice_ids:
        if choice_id in offered:
            shown_as = encode(f"{number(offered.index(choice_id))}. ")
            return next((n for n, page in enumerate(pages)
                         if any(line.startswith(shown_as) for line in page)), 0)
    return 0


def read_input(raw: str, reply: Reply, turn: Turn) -> Turn:
    """What typed ``raw`` means on numbered-text ``reply``: home, back, a choice by its number
    (numbers run on across pages, skipping 98), or free text."""
    index = index_of(int(raw)) if raw.isdecimal() else None
    if raw == HOME_KEY:
        turn.choice = HOME
    elif raw == PREVIOUS:
        turn.choice = BACK
    elif index is not None and 0 <= index < len(reply.choices):
        turn.choice = reply.choices[index].id
    else:
        turn.text = raw
    return turn
