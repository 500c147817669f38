"""SMS replies: a ``Reply`` as numbered text of at most two parts per message.

GSM-7 gives 153 characters a part (of a long message), UCS-2 only 67, so a reply is written
in GSM-7 (accents a phone cannot show dropped, as on USSD) unless its language is written in a
script GSM-7 lacks. Longer lists page with ``98``, like USSD.
"""
from __future__ import annotations

from functools import lru_cache

from channels.gsm import gsm7_length, to_gsm7
from channels.paging import Alphabet, Labels, split
from dialogs import Reply

MAX_PARTS = 2
PART = {"gsm7": 153, "ucs2": 67}  # characters per part of a concatenated SMS
SINGLE = {"gsm7": 160, "ucs2": 70}
# Languages whose script GSM-7 cannot write (Amharic, Arabic, Tigrinya): UCS-2 for them.
UCS2_LANGUAGES = frozenset({"am", "ar", "ti"})


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


ALPHABETS = {"gsm7": Alphabet(to_gsm7, gsm7_length), "ucs2": Alphabet(str, _utf16_units)}


def encoding_for(locale: str) -> str:
    return "ucs2" if locale.split("_")[0] in UCS2_LANGUAGES else "gsm7"


def parts(text: str, encoding: str) -> int:
    """How many SMS ``text`` costs in ``encoding``."""
    length = ALPHABETS[encoding].length(text)
    return 1 if length <= SINGLE[encoding] else -(-length // PART[encoding])


@lru_cache(maxsize=1024)
def _pages(reply: Reply, labels: Labels, encoding: str) -> tuple[str, ...]:
    budget = MAX_PARTS * PART[encoding]
    return tuple("\n".join(page) for page in split(reply, labels, budget, ALPHABETS[encoding]))


def render(reply: Reply, page: int = 0, labels: Labels = Labels(),
           locale: str = "en") -> list[dict]:
    pages = _pages(reply, labels, encoding_for(locale))
    return [{"type": "text", "body": pages[min(page, len(pages) - 1)]}]


def page_count(reply: Reply, labels: Labels = Labels(), locale: str = "en") -> int:
    return len(_pages(reply, labels, encoding_for(locale)))
