"""Session arithmetic: what is new in AT's accumulated ``text``, and playing it to the dialog.

The conversation is ``dialogs.registry.conversation``: ``start(turn)`` and
``handle(turn, state)`` both return ``(Reply, state)``.
"""
from __future__ import annotations

from channels.paging import read_input
from channels.ussd.render import MORE, PREVIOUS, Labels, page_count
from dialogs import Reply
from dialogs.registry import conversation as dialog

MAX_INPUT = 200  # longer input is kept only this long: it matches no option anyway


def clean_input(raw: str) -> str:
    # Some gateways deliver a typed "@" as "¡" (GSM-7 0x40 read as Latin-1).
    return raw.replace("¡", "@").strip()[:MAX_INPUT]


def new_inputs(text: str, saved: dict | None) -> list[str]:
    """What the shopper typed since the last hop.

    On the first hop, everything in ``text`` is pre-filled input from the dial string
    (``*384*123*2#`` arrives as ``2``). After that, ``text`` is the previous text plus ``*``
    plus the new input; a repeated hop (same text) brings nothing new.
    """
    if saved is None:
        return text.split("*") if text else []
    previous = saved["text"]
    if text == previous:
        return []
    if previous and text.startswith(previous + "*"):
        return [text[len(previous) + 1:]]
    if not previous:
        return [text]
    return [text.rsplit("*", 1)[-1]]  # the gateway lost track; trust the last input


def play(turn_factory, inputs: list[str], saved: dict | None,
         labels: Labels = Labels()) -> dict:
    """Apply each input to the session; returns the new session (with the reply to show).

    The session is ``{"dialog": state, "reply": reply as a dict, "page": page shown}``.
    """
    if saved is None:
        reply, state = dialog.start(turn_factory())
        saved = {"dialog": state, "reply": reply.to_dict(), "page": 0}
    for raw in inputs:
        reply = Reply.from_dict(saved["reply"])
        if reply.ends:
            break
        raw = clean_input(raw)
        page = saved["page"]
        if raw == MORE and page + 1 < page_count(reply, labels):
            saved["page"] = page + 1
            continue
        if raw == PREVIOUS and page > 0:
            saved["page"] = page - 1
            continue
        reply, state = dialog.handle(read_input(raw, reply, turn_factory()), saved["dialog"])
        saved = {"dialog": state, "reply": reply.to_dict(), "page": 0}
    return saved
