"""Which store a USSD hop is for: dedicated codes and shared codes (the first number picks).

On a dedicated code (``*384*123#``) the store's dialog sees all of ``text``. On a shared code
(``*384*500#``) the first input is the store number, pre-filled (``*384*500*45#``) or typed when
asked for; the store's dialog sees what follows it.
"""
from __future__ import annotations

from typing import NamedTuple

from channels.ussd.hops import new_inputs
from commerce.models import Store
from commerce.stores import ChannelRoutes, resolve_ussd, store_number

ASK_STORE_NUMBER = "CON Enter the store number:"
WRONG_STORE_NUMBER = "CON Sorry, no store has that number.\nEnter the store number:"
CODE_NOT_IN_USE = "END Sorry, this USSD code is not in use."


def _after(prefix: str, text: str) -> str:
    """``text`` without the ``prefix`` spent picking the store: what the store's dialog sees."""
    if not prefix:
        return text
    if text.startswith(prefix + "*"):
        return text[len(prefix) + 1:]
    if text == prefix or not text or prefix.startswith(text + "*"):
        # The hop that picked the store, or a late copy of an earlier one: "" is the dialog's
        # first text, so hops.new_inputs finds nothing new in it.
        return ""
    # The gateway lost track: the whole text, from which hops.new_inputs takes the last input
    # unless it is a text already applied.
    return text


class Route(NamedTuple):
    store: Store | None
    text: str = ""  # what the store's dialog sees of the session's text
    keep: dict | None = None  # routing to keep in the session (with a store, or while picking)
    screen: str = ""  # shown while there is no store (yet)


def route(db, service_code: str, text: str, saved: dict | None,
          routes: ChannelRoutes | None = None) -> Route:
    """Which store a hop is for, and the part of ``text`` meant for its dialog.

    ``saved`` is the session so far (``None`` on the first hop): it remembers a store picked
    earlier, or that the shopper is being asked for the store number. ``routes`` caches the
    lookups (``commerce.stores.ChannelRoutes``).
    """
    if saved is not None and "number" in saved:  # the store was picked earlier in this session
        number = saved["number"]
        store = resolve_ussd(db, service_code, [number] if number else [], routes).store
        if store is not None:
            return Route(store, _after(saved["prefix"], text),
                         {"prefix": saved["prefix"], "number": number})
        saved = None  # the store left the code mid-session: start afresh
    picking = saved if saved is not None and saved.get("picking") else None
    typed = new_inputs(text, picking)
    found = resolve_ussd(db, service_code, typed, routes)
    if found.store is not None:
        rest = "*".join(found.inputs_left)
        prefix = text[: len(text) - len(rest)].rstrip("*") if rest else text
        number = store_number(typed[0]) if found.shared else ""
        return Route(found.store, rest, {"prefix": prefix if found.shared else "",
                                         "number": number})
    if not found.shared:
        return Route(None, screen=CODE_NOT_IN_USE)
    if picking is not None and not typed:  # a repeated hop: show the same screen again
        return Route(None, keep=picking, screen=picking["screen"])
    screen = ASK_STORE_NUMBER if found.asks_store_number else WRONG_STORE_NUMBER
    return Route(None, keep={"picking": True, "text": text, "screen": screen}, screen=screen)
