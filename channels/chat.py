"""A conversation over messages (SMS, WhatsApp): the same dialogs as USSD, one message a turn.

Unlike USSD there is no gateway session: the conversation is kept per store, channel and
customer for a day, and a message can be a number, a button's id, a text command or free text.
"""
from __future__ import annotations

import dataclasses
from typing import Protocol

from channels import keywords
from channels.context import services
from channels.messages import Incoming
from channels.paging import MORE, PREVIOUS, Labels, read_input, remember_picked
from dialogs import BACK, HOME, Reply
from dialogs.checkout import location_text
from dialogs.i18n import translate
from dialogs.registry import conversation as dialogs
from dialogs.text import BACK as BACK_WORD, MORE as MORE_WORD, N_

UNSUPPORTED = N_("Sorry, I can only read text, buttons and locations.")
MORE_ID = "nav:more"  # a "More" button or list row, where a channel shows one
MAX_INPUT = 500


class Renderer(Protocol):
    def render(self, reply: Reply, page: int, labels: Labels, locale: str) -> list[dict]: ...
    def page_count(self, reply: Reply, labels: Labels, locale: str) -> int: ...
    def page_showing(self, reply: Reply, choice_ids: list[str], labels: Labels,
                     locale: str) -> int: ...


def labels(locale: str) -> Labels:
    return Labels(more=translate(locale, MORE_WORD), back=translate(locale, BACK_WORD))


def session_key(channel: str, store_id: int, customer_id: int) -> str:
    return f"chat:{channel}:{store_id}:{customer_id}"


def converse(turn_factory, channel: str, incoming: Incoming, renderer: Renderer) -> list[dict]:
    """Apply one incoming message to the customer's conversation; returns what to send back.

    ``turn_factory()`` makes a fresh ``Turn`` (store, customer, database session).
    """
    ctx = services()
    first = turn_factory()
    key = session_key(channel, first.store.id, first.customer.id)
    with ctx.sessions.lock(key):  # two messages sent at once are answered one after the other
        saved = ctx.sessions.get(key)
        if saved is not None and Reply.from_dict(saved["reply"]).ends:
            saved = None  # a finished conversation: the next message starts afresh
        saved = _apply(turn_factory, incoming, saved, renderer)
        ctx.sessions.set(key, saved, ctx.chat_session_ttl)
    locale = turn_factory().locale  # a LANG command or the language menu may have changed it
    return renderer.render(Reply.from_dict(saved["reply"]), saved["page"], labels(locale),
                           locale)


def _apply(turn_factory, incoming: Incoming, saved: dict | None, renderer: Renderer) -> dict:
    turn = turn_factory()
    text = (incoming.text or "").replace("¡", "@").strip()[:MAX_INPUT]
    command = _command(text, turn, incoming, saved)
    if command is not None:
        return _fresh(*dialogs.go(turn, keywords.destination(turn, command)))
    if incoming.kind == "order":  # a WhatsApp catalog cart
        return _fresh(*dialogs.go(turn, keywords.add_items(turn, incoming.order_items)))
    if saved is None:
        return _fresh(*dialogs.start(turn))
    reply, page = Reply.from_dict(saved["reply"]), saved["page"]
    if incoming.kind == "unsupported":  # a photo, a voice note...: say so, show the screen again
        reply = dataclasses.replace(reply, text=f"{turn.t(UNSUPPORTED)}\n{reply.text}")
        return {**saved, "reply": reply.to_dict()}
    pages = renderer.page_count(reply, labels(turn.locale), turn.locale)
    choice = incoming.choice if incoming.kind == "choice" else ""
    if (choice == MORE_ID or text == MORE) and page + 1 < pages:
        return {**saved, "page": page + 1}
    if text == PREVIOUS and page > 0:
        return {**saved, "page": page - 1}
    if choice and choice not in {c.id for c in reply.choices} | {BACK, HOME}:
        choice = ""  # a button from an older message: read its title as typed text instead
    if choice:
        turn.choice = choice
    else:
        read_input(text or _describe(incoming), reply, turn)
    picked = remember_picked(turn, saved.get("picked", []))
    reply, state = dialogs.handle(turn, saved["dialog"])
    # back to a list: the page the shopper picked from, as on USSD
    page = (renderer.page_showing(reply, picked, labels(turn.locale), turn.locale)
            if turn.choice == BACK else 0)
    return {"dialog": state, "reply": reply.to_dict(), "page": page, "picked": picked}


def _command(text: str, turn, incoming: Incoming, saved: dict | None):
    """The text command the message is, unless the screen waits for typed text. STOP and
    START are not here: the inbound job applies them, and only as the whole message."""
    if incoming.kind != "text" or awaits_text(saved):
        return None
    command = keywords.parse(text, turn.store.locale_list)
    if command is None or command.name in keywords.OPT_COMMANDS:
        return None
    return command


def awaits_text(saved: dict | None) -> bool:
    """Whether the conversation's current screen asks the shopper to type something."""
    return dialogs.awaits_text((saved or {}).get("dialog") or {})


def _fresh(reply: Reply, state: dict) -> dict:
    return {"dialog": state, "reply": reply.to_dict(), "page": 0}


def _describe(incoming: Incoming) -> str:
    """A shared location, as the text an address question can take."""
    if incoming.kind == "location" and incoming.location:
        return location_text(incoming.text, *incoming.location)
    return ""
