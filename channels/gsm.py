"""GSM 03.38 (GSM-7): what a feature phone can show, and how long it is on the wire."""
from __future__ import annotations

import unicodedata

BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENSION = set("^{}\\[~]|€")  # sent as ESC + char: two septets each

# Characters people paste that have a plain GSM-7 look-alike.
LOOKALIKES = {
    "‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"', "–": "-", "—": "-",
    "…": "...", "•": "-", "·": "-", "\t": " ", "₦": "N", "¢": "c",
    "₵": "C",  # GH₵ 12.50 is written GHC 12.50
    "×": "x", "\u00a0": " ",
}


def to_gsm7(text: str) -> str:
    """Transliterate to GSM-7: accents dropped where the alphabet lacks them, the rest ``?``."""
    out = []
    for char in text:
        if char in BASIC or char in EXTENSION:
            out.append(char)
        elif char in LOOKALIKES:
            out.append(LOOKALIKES[char])
        else:
            plain = "".join(c for c in unicodedata.normalize("NFKD", char)
                            if c in BASIC and not unicodedata.combining(c))
            out.append(plain or "?")
    return "".join(out)


def loses_letters(text: str) -> bool:
    """Whether ``to_gsm7`` would turn a letter of ``text`` into ``?`` (a name in Arabic or
    Ge'ez script): such a text needs UCS-2 to stay readable. Emoji and symbols do not count."""
    return any(unicodedata.category(char).startswith("L") and to_gsm7(char) == "?"
               for char in text if char not in BASIC)


def gsm7_length(text: str) -> int:
    return sum(2 if char in EXTENSION else 1 for char in text)
