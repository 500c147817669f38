"""Translations: gettext catalogs in ``locales/<lang>/LC_MESSAGES/messages.po``, read with Babel.

The catalogs are read once, at import, straight from the ``.po`` files (no compile step to
forget). English is the source language: a message with no translation is shown in English.
"""
from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"


def _load() -> dict[str, dict[str, str]]:
    catalogs: dict[str, dict[str, str]] = {}
    for po in sorted(LOCALES_DIR.glob("*/LC_MESSAGES/messages.po")):
        with po.open("rb") as f:
            catalog = read_po(f)
        catalogs[po.parent.parent.name] = {
            m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}
    return catalogs


CATALOGS = _load()


def translate(locale: str, message: str) -> str:
    return CATALOGS.get(locale.split("_")[0], {}).get(message, message)


def language_name(code: str) -> str:
    """A language's own name for itself: "Kiswahili", "français"."""
    from babel import Locale

    return Locale.parse(code).get_display_name(code).capitalize()
