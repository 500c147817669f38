"""USSD through Africa's Talking: one POST per hop, a ``CON``/``END`` text screen back.

AT sends ``sessionId, serviceCode, phoneNumber, networkCode, text`` where ``text`` is every
input of the session joined by ``*``. We keep the session server-side, work out what is new
in ``text``, hand it to the dialog as a ``Turn`` and render the ``Reply`` within 160 GSM-7
characters, paging long lists with ``98`` (more) and ``0`` (back).
"""
from __future__ import annotations

import logging
from typing import NamedTuple

from flask import Blueprint, Response, request

from channels.context import services
from channels.gsm import gsm7_length, to_gsm7
from commerce.customers import get_or_create_customer
from commerce.errors import InvalidPhoneNumber
from commerce.phones import to_e164
from commerce.models import Store
from commerce.stores import resolve_ussd
from dialogs import BACK, HOME, Reply, Turn
from dialogs.shop import ShopDialog

log = logging.getLogger(__name__)
bp = Blueprint("ussd", __name__)

SCREEN_LIMIT = 160  # characters including "CON "; telcos' safe budget (shared/reference §1.2)
MAX_INPUT = 200  # longer input is kept only this long: it matches no option anyway
MORE, PREVIOUS, HOME_KEY = "98", "0", "00"
REQUIRED_FIELDS = ("sessionId", "serviceCode", "phoneNumber", "text")

SORRY_BROKEN = "Sorry, something went wrong. Please dial again in a moment."
ASK_STORE_NUMBER = "CON Enter the store number:"
WRONG_STORE_NUMBER = "CON Sorry, no store has that number.\nEnter the store number:"
dialog = ShopDialog()


# -- rendering ----------------------------------------------------------------------------------
def _fit(text: str, budget: int) -> str:
    """Cut ``text`` to ``budget`` GSM-7 units at a word boundary, marking the cut with ``..``."""
    if gsm7_length(text) <= budget:
        return text
    cut = text
    while cut and gsm7_length(cut) > budget - 2:
        cut = cut[:-1]
    if " " in cut.strip():
        cut = cut[: cut.rstrip().rfind(" ")]
    return cut.rstrip() + ".."


def _size(rows: list[str]) -> int:
    return sum(gsm7_length(r) for r in rows) + max(len(rows) - 1, 0)  # lines + newlines


def paginate(reply: Reply) -> list[list[str]]:
    """Split a reply into screens (lists of lines) that each fit ``SCREEN_LIMIT``.

    Choices keep their numbers across pages, and a choice is never split between pages.
    """
    budget = SCREEN_LIMIT - len("CON ")
    header = to_gsm7(reply.text)
    if reply.ends:
        return [[_fit(header, budget)]]
    rest = [to_gsm7(f"{n}. {c.label}") for n, c in enumerate(reply.choices, 1)]
    more = f"{MORE}. More"
    pages: list[list[str]] = []
    while True:
        first = not pages
        back = [f"{PREVIOUS}. Back"] if (reply.can_go_back or not first) else []
        page: list[str] = []
        if first:  # the header shows once, leaving room for a choice and the navigation
            reserved = _size(rest[:1] + [more] + back) + 1 if rest else _size(back) + len(back)
            page = [_fit(header, max(budget - reserved, 20))]
        if _size(page + rest + back) <= budget:
            pages.append(page + rest + back)
            return pages
        shown = len(page)
        while rest and _size(page + [rest[0], more] + back) <= budget:
            page.append(rest.pop(0))
        if len(page) == shown:  # a single choice too long for any screen: shorten it
            page.append(_fit(rest.pop(0), budget - _size(page + [more] + back) - 1))
        pages.append(page + ([more] if rest else []) + back)
        if not rest:
            return pages


def render(reply: Reply, page: int = 0) -> str:
    pages = paginate(reply)
    page = min(page, len(pages) - 1)
    return ("END " if reply.ends else "CON ") + "\n".join(pages[page])


# -- hops ----------------------------------------------------------------------------------------
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


def _turn_for(raw: str, reply: Reply, turn: Turn) -> Turn:
    if raw == HOME_KEY:
        turn.choice = HOME
    elif raw == PREVIOUS:
        turn.choice = BACK
    elif reply.choices and raw.isdecimal() and 1 <= int(raw) <= len(reply.choices):
        turn.choice = reply.choices[int(raw) - 1].id
    else:
        turn.text = raw
    return turn


def play(turn_factory, inputs: list[str], saved: dict | None) -> dict:
    """Apply each input to the session; returns the new session (with the reply to show)."""
    if saved is None:
        reply, state = dialog.start(turn_factory())
        saved = {"dialog": state, "reply": reply.to_dict(), "page": 0}
    for raw in inputs:
        reply = Reply.from_dict(saved["reply"])
        if reply.ends:
            break
        raw = clean_input(raw)
        page, pages = saved["page"], len(paginate(reply))
        if raw == MORE and page + 1 < pages:
            saved["page"] = page + 1
            continue
        if raw == PREVIOUS and page > 0:
            saved["page"] = page - 1
            continue
        reply, state = dialog.handle(_turn_for(raw, reply, turn_factory()), saved["dialog"])
        saved = {"dialog": state, "reply": reply.to_dict(), "page": 0}
    return saved


def _screen(text: str, status: int = 200) -> Response:
    return Response(text, status=status, mimetype="text/plain")


@bp.post("/channels/ussd/africastalking")
def africastalking_hop() -> Response:
    form = request.form
    if any(field not in form for field in REQUIRED_FIELDS):
        return _screen("END Sorry, this request could not be read. Please dial again.", 400)
    try:
        return _screen(_hop(form["sessionId"], form["serviceCode"], form["phoneNumber"],
                            form["text"]))
    except Exception:  # the shopper gets a polite screen, never a stack trace
        log.exception("USSD hop failed (session %s)", form.get("sessionId"))
        return _screen("END " + SORRY_BROKEN)


# -- routing: which store a hop is for ----------------------------------------------------------
def _after(prefix: str, text: str) -> str:
    """``text`` without the ``prefix`` spent picking the store: what the store's dialog sees."""
    if not prefix:
        return text
    if text == prefix:
        return ""
    if text.startswith(prefix + "*"):
        return text[len(prefix) + 1:]
    return text.rsplit("*", 1)[-1]  # the gateway lost track; trust the last input


class Route(NamedTuple):
    store: Store | None
    text: str = ""  # what the store's dialog sees of the session's text
    keep: dict | None = None  # routing to keep in the session (with a store, or while picking)
    screen: str = ""  # shown while there is no store (yet)


def _route(db, service_code: str, text: str, saved: dict | None) -> Route:
    """Which store a hop is for, and the part of ``text`` meant for its dialog.

    On a dedicated code the dialog sees all of ``text``. On a shared code the first input is the
    store number (on the first hop, or typed when asked for); the dialog sees what follows it.
    """
    if saved is not None and "number" in saved:  # the store was picked earlier in this session
        number = saved["number"]
        store = resolve_ussd(db, service_code, [number] if number else []).store
        if store is not None:
            return Route(store, _after(saved["prefix"], text),
                         {"prefix": saved["prefix"], "number": number})
        saved = None  # the store left the code mid-session: start afresh
    picking = saved if saved is not None and saved.get("picking") else None
    typed = new_inputs(text, picking)
    route = resolve_ussd(db, service_code, typed)
    if route.store is not None:
        rest = "*".join(route.inputs_left)
        prefix = text[: len(text) - len(rest)].rstrip("*") if rest else text
        number = typed[0].strip() if route.shared else ""
        return Route(route.store, rest, {"prefix": prefix if route.shared else "",
                                         "number": number})
    if not route.shared:
        return Route(None, screen="END Sorry, this USSD code is not in use.")
    if picking is not None and not typed:  # a repeated hop: show the same screen again
        return Route(None, keep=picking, screen=picking["screen"])
    screen = ASK_STORE_NUMBER if route.asks_store_number else WRONG_STORE_NUMBER
    return Route(None, keep={"picking": True, "text": text, "screen": screen}, screen=screen)


def _hop(session_id: str, service_code: str, raw_phone: str, text: str) -> str:
    ctx = services()
    with ctx.db() as db:
        key = f"ussd:{session_id}"
        saved = ctx.sessions.get(key)
        if saved is not None and (saved.get("caller") != raw_phone
                                  or saved.get("code") != service_code):
            saved = None  # not this shopper's session: start afresh rather than leak it
        store, text, routing, screen = _route(db, service_code, text, saved)
        if store is None:
            if routing is not None:  # asking for the store number
                ctx.sessions.set(key, {**routing, "caller": raw_phone, "code": service_code},
                                 ctx.ussd_session_ttl)
            return screen
        if saved is not None and saved.get("picking"):
            saved = None  # the store was just picked: its dialog starts now
        try:
            phone = to_e164(raw_phone, store.country)
        except InvalidPhoneNumber:
            return "END Sorry, we could not read your phone number."
        customer = get_or_create_customer(db, store, phone)
        if saved is not None and (saved.get("phone") != phone or saved.get("store") != store.id):
            saved = None  # not this shopper's session: start afresh rather than leak it
        inputs = new_inputs(text, saved)
        saved = play(lambda: Turn(db=db, store=store, customer=customer), inputs, saved)
        saved.update(text=text, phone=phone, store=store.id, caller=raw_phone, code=service_code,
                     **routing)
        reply = Reply.from_dict(saved["reply"])
        if reply.ends:
            ctx.sessions.delete(key)
        else:
            ctx.sessions.set(key, saved, ctx.ussd_session_ttl)
        return render(reply, saved["page"])
