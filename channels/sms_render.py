"""SMS replies: a ``Reply`` as numbered text of at most two parts per message.

GSM-7 gives 153 characters a part (of a long message), UCS-2 only 67, so a reply is written
in GSM-7 (accents a phone cannot show dropped, as on USSD) unless its language is written in a
script GSM-7 lacks. Longer lists page with ``98``, like USSD.
"""
from __future__ import annotations

from functools import lru_cache

from channels.gsm import gsm7_length, loses_letters, to_gsm7
from channels.paging import Alphabet, Labels, fit, page_listing, split
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


def encoding_of(text: str, locale: str) -> str:
    """GSM-7 unless the language, or a letter in ``text`` (a name in another script), needs
    UCS-2: an SMS in UCS-2 carries less than half as much."""
    return "ucs2" if encoding_for(locale) == "ucs2" or loses_letters(text) else "gsm7"


def fit_text(text: str, locale: str, max_parts: int = MAX_PARTS) -> str:
    """``text`` as it goes out by SMS: written in its encoding and, when longer than
    ``max_parts`` parts, cut at a word and marked with ``..`` (as replies are)."""
    encoding = encoding_of(text, locale)
    encode, length = ALPHABETS[encoding]
    budget = SINGLE[encoding] if max_parts <= 1 else max_parts * PART[encoding]
    return fit(encode(text), budget, length, whole_words=True)


def fits(text: str, locale: str, max_parts: int = MAX_PARTS) -> bool:
    """Whether ``text`` goes out by SMS whole, in at most ``max_parts`` parts."""
    encoding = encoding_of(text, locale)
    return parts(ALPHABETS[encoding].encode(text), encoding) <= max_parts


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


def page_showing(reply: Reply, choice_ids: list[str], labels: Labels = Labels(),
                 locale: str = "en") -> int:
    """The page of ``reply`` that lists the first of ``choice_ids`` it offers; 0 if none."""
    encoding = encoding_for(locale)
    pages = [page.split("\n") for page in _pages(reply, labels, encoding)]
    return page_listing(pages, reply, choice_ids, ALPHABETS[encoding].encode)
