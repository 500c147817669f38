"""Session arithmetic: what is new in AT's accumulated ``text``, and playing it to the dialog.

The conversation is ``dialogs.registry.conversation``: ``start(turn)`` and
``handle(turn, state)`` both return ``(Reply, state)``.
"""
from __future__ import annotations

from channels.paging import read_input, remember_picked
from channels.ussd.render import MORE, PREVIOUS, Labels, page_count, page_showing
from dialogs import BACK, Reply
from dialogs.registry import conversation as dialog

MAX_INPUT = 200  # longer input is kept only this long: it matches no option anyway


def clean_input(raw: str) -> str:
    # Some gateways deliver a typed "@" as "¡" (GSM-7 0x40 read as Latin-1).
    return raw.replace("¡", "@").strip()[:MAX_INPUT]


# Inputs one hop may bring (only a first hop brings more than one: those pre-filled in the dial
# string). A dial string is at most 182 characters (the GSM USSD limit) and a real one pre-fills
# a handful (store number, a menu or two, a quantity); each input costs a dialog step. A text
# with more is not a shopper's: it gets a polite END at once rather than holding a worker and
# the session's lock for seconds. Not the first inputs only: that would drop the rest silently
# and leave the caller on a screen they never asked for.
MAX_INPUTS_PER_HOP = 20
EARLIER_KEPT = 4  # texts kept from before the gateway lost track (see applied_texts)


def new_inputs(text: str, saved: dict | None) -> list[str]:
    """What the shopper typed since the last hop.

    On the first hop, everything in ``text`` is pre-filled input from the dial string
    (``*384*123*2#`` arrives as ``2``): at most ``MAX_INPUTS_PER_HOP + 1`` items, the last
    holding any rest, so more than ``MAX_INPUTS_PER_HOP`` means too many (``too_many``). After
    that, ``text`` is the previous text plus ``*`` plus the new input. A text the gateway sent
    before (the same hop retried, or a late copy of an earlier hop) brings nothing new:
    applying it again could, say, confirm an order the shopper never confirmed.
    """
    if saved is None:
        return text.split("*", MAX_INPUTS_PER_HOP) if text else []
    previous = saved["text"]
    if previous and text.startswith(previous + "*"):
        return [text[len(previous) + 1:]]
    if sent_before(text, saved):
        return []
    if not previous:
        return [text]
    # The gateway lost track: the text neither grows nor repeats what we applied (a gateway
    # that restarted its count, or one that sends only the latest input). Trust the last input.
    return [text.rsplit("*", 1)[-1]]


def first_step(text: str, saved: dict | None, inputs: list[str]) -> int | None:
    """The number of ``inputs[0]`` among the session's steps, counted from 1 (the inputs after
    it are the next steps): its place in AT's text. A cart remembers the last step that changed
    it, so a step that arrives twice changes it once (``commerce.carts.Step``): a retry after
    the session's write to Redis failed, or a session lost from Redis whose next hop replays
    the whole text. None once the gateway has lost track in this session (its text did not
    grow from the last one applied; ``earlier`` keeps the texts from before): its places count
    from 1 again, so they no longer tell steps apart, and inputs are applied as they come."""
    if not inputs or (saved is not None and saved.get("earlier")):
        return None
    if saved is not None and saved["text"] and not text.startswith(saved["text"] + "*"):
        return None
    return text.count("*") + 2 - len(inputs)


def sent_before(text: str, saved: dict) -> bool:
    """Whether the gateway sent ``text`` earlier in this session. AT's text only grows, so an
    earlier hop's text is a ``*``-prefix of a later one (and ``""`` comes first); the texts from
    before the gateway last lost track are kept in ``earlier``. Against those, only a text of
    several inputs counts: a single key after a lost track may well be typed anew ("1", "2",
    then "1" again), and cannot be told from a copy."""
    if not text or text == saved["text"] or saved["text"].startswith(text + "*"):
        return True
    return "*" in text and any(text == seen or seen.startswith(text + "*")
                               for seen in saved.get("earlier", ()))


def applied_texts(text: str, saved: dict | None) -> dict:
    """The session's record of the texts applied, after this hop: ``text`` and ``earlier``.

    A late copy of an earlier hop leaves it as it was. When the gateway lost track, the text
    before goes to ``earlier``, so its own late copies are still recognised.
    """
    if saved is None:
        return {"text": text, "earlier": []}
    previous, earlier = saved["text"], saved.get("earlier", [])
    if sent_before(text, saved):
        return {"text": previous, "earlier": earlier}
    if not previous or text.startswith(previous + "*"):
        return {"text": text, "earlier": earlier}
    return {"text": text, "earlier": [previous, *earlier][:EARLIER_KEPT]}


def too_many(inputs: list[str]) -> bool:
    return len(inputs) > MAX_INPUTS_PER_HOP


def at_home(saved: dict) -> bool:
    """Whether the session is on the home menu, where a new dial lands anyway."""
    return saved["dialog"].get("dialog") == dialog.home


def play(turn_factory, inputs: list[str], saved: dict | None,
         labels: Labels = Labels(), first: int | None = None) -> dict:
    """Apply each input to the session; returns the new session (with the reply to show).

    The session is ``{"dialog": state, "reply": reply as a dict, "page": page shown,
    "picked": the choice ids last picked}``. ``turn_factory(step)`` makes the turn for the
    input numbered ``step`` (``first`` for the first input, see ``first_step``; None if
    unnumbered). Back (``0``) to a menu shows the page with the choice picked from it, so a
    shopper back from product 40 of a long list is not on page 1 of it again.
    """
    if saved is None:
        reply, state = dialog.start(turn_factory(None))
        saved = {"dialog": state, "reply": reply.to_dict(), "page": 0}
    for index, raw in enumerate(inputs):
        reply = Reply.from_dict(saved["reply"])
        if reply.ends:
            break
        raw = clean_input(raw)
        page = saved["page"]
        if raw == MORE and reply.choices:
            # On the last (or only) page of a menu, 98 shows that page again: no "pick from
            # the list" for a shopper who pressed it once too often.
            saved["page"] = min(page + 1, page_count(reply, labels) - 1)
            continue
        if raw == MORE and page + 1 < page_count(reply, labels):  # long text, no menu
            saved["page"] = page + 1
            continue
        if raw == PREVIOUS and page > 0:
            saved["page"] = page - 1
            continue
        step = first + index if first is not None else None
        turn = read_input(raw, reply, turn_factory(step))
        picked = remember_picked(turn, saved.get("picked", []))
        reply, state = dialog.handle(turn, saved["dialog"])
        page = page_showing(reply, picked, labels) if turn.choice == BACK else 0
        saved = {"dialog": state, "reply": reply.to_dict(), "page": page, "picked": picked}
    return saved
