"""GSM 03.38 (GSM-7): what a feature phone can show, and how long it is on the wire."""
from __future__ import annotations

import re
import unicodedata

BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENSION = set("^{}\\[~]|€")  # sent as ESC + char: two septets each

# Characters people paste that have a plain GSM-7 look-alike, and letters of African and
# European Latin alphabets that Unicode does not decompose to a base letter (NFKD gives nothing
# for them). A small table rather than a transliteration library: none is installed, and the
# usual ones (unidecode, anyascii) romanise every script (Arabic, Ge'ez) and spell emoji out as
# words, where these screens need "?" for a letter only UCS-2 can write (``loses_letters``) and
# nothing for an emoji.
LOOKALIKES = {
    "‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"', "–": "-", "—": "-",
    "…": "...", "•": "-", "·": "-", "\t": " ", "₦": "N", "¢": "c",
    "₵": "C",  # GH₵ 12.50 is written GHC 12.50
    "×": "x", "\u00a0": " ",
    "⁄": "/",  # the fraction slash NFKD leaves in ½ (1⁄2): "Sugar 1/2 kg", not "Sugar 12 kg"
    "«": '"', "»": '"', "‹": "'", "›": "'", "′": "'", "″": '"', "ʼ": "'", "ʻ": "'",
    "‐": "-", "‑": "-", "‒": "-", "−": "-", "÷": "/",
    "°": "o",  # 45° is written 45o: short, and it looks like the sign
    "©": "(c)", "®": "(R)",
    "œ": "oe", "Œ": "Oe", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ı": "i", "ð": "d",
    "Ð": "D", "þ": "th", "Þ": "Th", "ħ": "h", "Ħ": "H", "ŧ": "t", "Ŧ": "T", "ĸ": "k",
    # Hausa, Fula, Wolof, Akan, Ewe, Bambara, Lingala... (African reference alphabet)
    "ɓ": "b", "Ɓ": "B", "ɗ": "d", "Ɗ": "D", "ƙ": "k", "Ƙ": "K", "ƴ": "y", "Ƴ": "Y",
    "ŋ": "ng", "Ŋ": "Ng", "ɛ": "e", "Ɛ": "E", "ɔ": "o", "Ɔ": "O", "ɲ": "ny", "Ɲ": "Ny",
    "ɖ": "d", "Ɖ": "D", "ƒ": "f", "Ƒ": "F", "ɣ": "g", "Ɣ": "G", "ʋ": "v", "Ʋ": "V",
    "ə": "e", "Ə": "E", "ɩ": "i", "Ɩ": "I", "ʊ": "u", "Ʊ": "U",
}


def _plain(char: str) -> str:
    """``char`` (not GSM-7 itself) written in GSM-7: its look-alike, or its decomposition
    (accents dropped, ½ as 1/2); else "?" for a letter, digit or punctuation, and "" for an emoji
    or other symbol, mark or control character: left out rather than shown as "?"."""
    if char in LOOKALIKES:
        return LOOKALIKES[char]
    plain = "".join(c if c in BASIC or c in EXTENSION else LOOKALIKES.get(c, "")
                    for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    kind = unicodedata.category(char)[0]
    return plain or {"L": "?", "N": "?", "P": "?", "Z": " "}.get(kind, "")


def to_gsm7(text: str) -> str:
    """Transliterate to GSM-7 (see ``_plain`` for what is not in it)."""
    marked = "".join(char if char in BASIC or char in EXTENSION else _plain(char) or DROPPED
                     for char in text)
    return _GAP.sub(_close_gap, marked) if DROPPED in marked else marked


DROPPED = "\x00"  # marks a left-out character (a NUL in the text is left out too)
_GAP = re.compile(f"( *){DROPPED}+( *)")


def _close_gap(gap: re.Match) -> str:
    """What stands where emoji were left out: one space between words ("Tomato 🍅 box" is
    "Tomato box"), none inside a word or at a line's start or end ("Karibu 😀" is "Karibu")."""
    text, start, end = gap.string, gap.start(), gap.end()
    edge = start == 0 or text[start - 1] == "\n" or end == len(text) or text[end] == "\n"
    return " " if (gap.group(1) or gap.group(2)) and not edge else ""


def loses_letters(text: str) -> bool:
    """Whether ``to_gsm7`` would turn a letter of ``text`` into ``?`` (a name in Arabic or
    Ge'ez script): such a text needs UCS-2 to stay readable. Emoji and symbols do not count."""
    return any(unicodedata.category(char).startswith("L") and to_gsm7(char) == "?"
               for char in text if char not in BASIC)


def gsm7_length(text: str) -> int:
    return sum(2 if char in EXTENSION else 1 for char in text)
