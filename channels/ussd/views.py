"""The Africa's Talking USSD endpoints: a hop (``CON``/``END`` screen back) and session ends.

AT sends ``sessionId, serviceCode, phoneNumber, networkCode, text`` where ``text`` is every
input of the session joined by ``*``. We keep the session server-side, work out what is new
in ``text``, hand it to the dialog as a ``Turn`` and render the ``Reply`` within 160 GSM-7
characters.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from functools import lru_cache

from flask import Blueprint, Response, jsonify, request

from channels.context import services
from channels.gsm import to_gsm7
from channels.ussd import resume, session_ends
from channels.ussd.hops import (applied_texts, at_home, clean_input, first_step, new_inputs,
                                play, too_many)
from channels.ussd.render import HOME_KEY, Labels, render
from channels.ussd.routing import CODE_NOT_IN_USE, route
from channels.ratelimit import RedisRateLimiter
from channels.sessions import RedisSessions
from commerce.carts import Step
from commerce.customers import find_customer_by_phone, get_or_create_customer, known_customer
from commerce.errors import InvalidPhoneNumber
from commerce.phones import to_e164
from commerce.stores import resolve_ussd
from dialogs import Reply, Turn
from dialogs.base import shopper_locale
from dialogs.i18n import CATALOGS, translate
from dialogs.text import BACK as BACK_WORD, MORE as MORE_WORD, N_

log = logging.getLogger("channels.ussd")
bp = Blueprint("ussd", __name__)

REQUIRED_FIELDS = ("sessionId", "serviceCode", "phoneNumber", "text")
SORRY_BROKEN = "Sorry, something went wrong. Please dial again in a moment."
UNREADABLE = "END Sorry, this request could not be read. Please dial again."
# Said in the shopper's language where we know it: the session's, else the store's (the hop
# limit's also the one the shopper chose before; English while a shared code asks for the store).
BAD_PHONE = N_("Sorry, we could not read your phone number.")
TOO_MANY = N_("Too many requests. Please wait a minute and dial again.")
TOO_MUCH_INPUT = N_("Sorry, that dial string is too long. Please dial again with fewer numbers.")


def _screen(text: str, status: int = 200) -> Response:
    return Response(text, status=status, mimetype="text/plain")


# strict_slashes=False: a callback URL pasted into AT's dashboard with a "/" at the end works
# too, instead of every shopper getting a 404 page as their screen.
@bp.post("/channels/ussd/africastalking", strict_slashes=False)
def africastalking_hop() -> Response:
    form = request.form
    if any(field not in form for field in REQUIRED_FIELDS) or any(
            "\x00" in form[field] for field in REQUIRED_FIELDS if field != "text"):
        return _screen(UNREADABLE, 400)
    try:
        ctx, key = services(), _session_key(form["sessionId"])
        rate_key = "ussd:" + session_ends.international(form["phoneNumber"])
        # A gateway retries a slow hop: the retry waits for the first answer, then finds its
        # text already applied and gets the same screen, instead of applying it twice.
        with _held_and_read(ctx, key, rate_key) as (allowed, saved):
            # GSM-7 codes "@" as 0, which a gateway may pass on as a NUL byte.
            return _screen(_hop(form["sessionId"], saved, form["serviceCode"],
                                form["phoneNumber"], form["text"].replace("\x00", "@"),
                                allowed))
    except Exception:  # the shopper gets a polite screen, never a stack trace
        log.exception("USSD hop failed (session %s)", form.get("sessionId"))
        return _screen("END " + SORRY_BROKEN)


def _end(locale: str, message: str) -> str:
    return "END " + translate(locale, message)


def _session_key(session_id: str) -> str:
    return f"ussd:{session_id}"


def _over_the_limit(db, store, saved: dict | None, phone: str | None) -> str:
    """The polite END for a phone over its hop limit, in the shopper's language: the session's,
    else the one they chose before (read only now: a refusal is rare), else the store's."""
    wanted = (saved or {}).get("locale")
    if wanted is None and phone is not None:
        customer = find_customer_by_phone(db, store, phone)
        wanted = customer.locale if customer is not None else None
    return _end(shopper_locale(store, wanted), TOO_MANY)


def _hop(session_id: str, saved: dict | None, service_code: str, raw_phone: str,
         text: str, allowed: bool = True) -> str:
    """The screen for one hop. ``allowed``: the phone is within its hop limit. Over it, a hop
    that would apply anything is refused before anything is written; a copy of a hop already
    answered still gets its screen (the gateway's retry of the END that confirms an order must
    not become "Too many requests")."""
    ctx, key = services(), _session_key(session_id)
    with ctx.db() as db:
        if saved is not None and (saved.get("caller") != raw_phone
                                  or saved.get("code") != service_code):
            saved = None  # not this shopper's session: start afresh rather than leak it
        store, text, routing, screen = route(db, service_code, text, saved, ctx.routes)
        if store is None:
            if not allowed and screen != CODE_NOT_IN_USE:
                return _end((saved or {}).get("locale") or "en", TOO_MANY)
            if routing is not None:  # asking for the store number
                ctx.sessions.set(key, {**routing, "caller": raw_phone, "code": service_code},
                                 ctx.ussd_session_ttl)
            return screen
        if saved is not None and (saved.get("picking") or saved.get("store") != store.id):
            saved = None  # the store was just picked (its dialog starts now), or is another's
        known = saved is not None and "customer" in saved  # same caller, code and store
        if known:
            phone = saved["phone"]
        else:
            try:
                phone = to_e164(raw_phone, store.country)
            except InvalidPhoneNumber:
                if not allowed:
                    return _over_the_limit(db, store, saved, None)
                return _end(store.default_locale, BAD_PHONE)
            if saved is not None and saved.get("phone") != phone:
                saved = None  # not this shopper's session: start afresh rather than leak it
        inputs = new_inputs(text, saved)
        if not allowed and (saved is None or inputs):  # before anything is written
            return _over_the_limit(db, store, saved, phone)
        if too_many(inputs):  # before anything is written: no customer, no session
            return _end(store.default_locale, TOO_MUCH_INPUT)
        first = first_step(text, saved, inputs)
        customer = (known_customer(db, store, saved["customer"], phone, saved.get("locale"))
                    if known else get_or_create_customer(db, store, phone))
        conversation = "ussd:" + session_id

        def _turn(step: int | None) -> Turn:
            return Turn(db=db, store=store, customer=customer,
                        step=Step(conversation, step) if step is not None else None)

        turn = _turn(None)

        # A late copy of an earlier hop leaves the texts as they were (hops.applied_texts).
        session = {**applied_texts(text, saved), "phone": phone, "store": store.id,
                   "caller": raw_phone, "code": service_code, "customer": customer.id,
                   **routing}
        resumed = False
        if saved is None and not text:  # a fresh dial with nothing pre-filled: resume?
            left = resume.recall(ctx.sessions, store.id, phone)
            if left is not None:
                return _offer(key, session, left, resume.question(turn.locale), customer)
        elif saved is not None and "offer" in saved:  # the answer to "Continue ...?"
            if not inputs:  # a repeated hop: the same question
                return saved["screen"]
            answer = clean_input(inputs[0])
            first = first + 1 if first is not None else None  # the answer took a step
            if answer == resume.YES:
                saved, inputs, resumed = saved["offer"], inputs[1:], True
            elif answer in (resume.NO, HOME_KEY):
                resume.forget(ctx.sessions, store.id, phone)
                saved, inputs = None, inputs[1:]
            else:
                return _offer(key, session, saved["offer"],
                              resume.question(turn.locale, again=True), customer)
        saved = play(_turn, inputs, saved, labels(turn.locale), first)
        # The language may be new; kept so the next hop needs no customer lookup.
        saved.update(session, locale=customer.locale)
        reply = Reply.from_dict(saved["reply"])
        # Kept on END too, not deleted: a gateway retrying the last hop must get the same END
        # back, not a new session that replays the whole text (and a second order). These
        # writes go to Redis together as the session's lock is let go (_held_and_read).
        ctx.sessions.set(key, saved, ctx.ussd_session_ttl)
        moved = bool(inputs) or resumed  # nothing moved on a retried or late hop
        if reply.ends or (moved and at_home(saved)):
            # Nothing to come back to: "Continue?" then "Yes" would only show home.
            resume.forget(ctx.sessions, store.id, phone)
        elif moved:
            resume.remember(ctx.sessions, store.id, phone, saved, session_id)
        return render(reply, saved["page"], labels(turn.locale))


@contextmanager
def _held_and_read(ctx, key: str, rate_key: str):
    """Hold the session's lock, count the hop against the phone's limit and read the session;
    yields (allowed, session). With Redis for all three, that is one round trip, and the
    session's writes go with letting the lock go."""
    limiter, sessions = ctx.ratelimit, ctx.sessions
    if (isinstance(limiter, RedisRateLimiter) and isinstance(sessions, RedisSessions)
            and limiter.redis is sessions.redis):

        def queue(pipe) -> None:
            limiter.queue_hit(pipe, rate_key)
            sessions.queue_get(pipe, key)

        def read_again(pipe) -> None:  # after waiting for the lock: the hop is counted already
            sessions.queue_get(pipe, key)

        with sessions.lock(key, queue, read_again) as (count, _, raw):
            yield count <= ctx.ussd_hops_per_minute, sessions.decode(raw)
        return
    with sessions.lock(key):
        yield limiter.hit(rate_key, ctx.ussd_hops_per_minute), sessions.get(key)


def labels(locale: str) -> Labels:
    return Labels(more=translate(locale, MORE_WORD), back=translate(locale, BACK_WORD))


def _offer(key: str, session: dict, left: dict, question: Reply, customer) -> str:
    """Ask whether to continue the dropped session ``left``; the answer comes next hop."""
    ctx = services()
    screen = render(question)
    ctx.sessions.set(key, {**session, "offer": left, "screen": screen, "locale": customer.locale},
                     ctx.ussd_session_ttl)
    return screen


# -- end-of-session notifications -----------------------------------------------------------------
@bp.post("/channels/ussd/africastalking/events", strict_slashes=False)
def africastalking_session_end():
    try:
        fields = session_ends.parse(request.form)
    except session_ends.BadSessionEnd as bad:
        return jsonify(error={"code": bad.code, "message": bad.message}), 400
    ctx = services()
    try:
        with ctx.db() as db:
            stored = session_ends.record(db, fields)
            if fields["status"] == "Failed":
                log.warning("USSD session %s failed at AT: %s", fields["session_id"],
                            fields["error_message"])
            # It reached its END: nothing to resume. A repeat has no side effects at all.
            if stored and fields["status"] == "Success":
                _forget_resume(db, fields)
    except Exception:
        log.exception("could not record the end of USSD session %s", fields["session_id"])
        return jsonify(error={"code": "unavailable",
                              "message": "Could not record the notification; try again."}), 503
    return jsonify(status="recorded" if stored else "duplicate"), 200


@lru_cache(maxsize=1)
def _dial_again_screens() -> frozenset[str]:
    """Our END screens that refuse a hop and ask the shopper to dial again, in every language."""
    asks = (TOO_MANY, TOO_MUCH_INPUT)
    said = {SORRY_BROKEN, UNREADABLE.removeprefix("END ")} | {
        translate(locale, message) for locale in CATALOGS for message in asks}
    return frozenset(said | {to_gsm7(screen) for screen in said})  # as a handset got it


def _asks_to_dial_again(last_screen: str | None) -> bool:
    """Whether AT's ``lastAppResponse`` is one of those (it may come without ``END ``)."""
    screen = (last_screen or "").strip()
    return screen.removeprefix("END ").strip() in _dial_again_screens()


def _forget_resume(db, fields: dict) -> None:
    """Delete the resume record of the session's shopper, if it is this session's; a failure
    here only logs.

    AT reports any ``END`` as a success, also one that refused a hop and asked the shopper to
    dial again (the hop limit, an error): where the shopper was is then kept for their next
    dial. The session names the store and phone; failing that (it expired), the code and input
    tell the store. The session is kept: a gateway retrying the ``END`` hop must get that
    ``END`` again, not a new session replaying the whole text (a second order). It expires by
    its TTL.
    """
    ctx = services()
    session_id = fields["session_id"]
    if _asks_to_dial_again(fields["last_screen"]):
        return
    try:
        saved = ctx.sessions.get(_session_key(session_id))
        if saved is not None and "store" in saved and "phone" in saved:
            resume.forget(ctx.sessions, saved["store"], saved["phone"], session_id)
            return
        inputs = fields["input"].split("*") if fields["input"] else []
        store = resolve_ussd(db, fields["service_code"], inputs).store
        if store is not None:
            phone = to_e164(fields["phone"], store.country)
            resume.forget(ctx.sessions, store.id, phone, session_id)
    except Exception:  # the record expires by itself within resume.RESUME_WINDOW
        log.exception("could not clear the resume record of USSD session %s",
                      fields["session_id"])


# -- requests the endpoints cannot take: answered in their own style, not Flask's HTML page -----
JSON_ENDPOINTS = ("ussd.africastalking_session_end", "ussd.events_wrong_method")


def _refused(status: int, code: str, message: str) -> Response:
    if request.endpoint in JSON_ENDPOINTS:
        response = jsonify(error={"code": code, "message": message})
        response.status_code = status
        return response
    return _screen(UNREADABLE, status)  # the hop: a screen, as for a request missing a field


@bp.errorhandler(413)
def _too_large(_error) -> Response:  # a body over MAX_CONTENT_LENGTH, found reading the form
    return _refused(413, "too_large", "The request body is too large.")


def _wrong_method() -> Response:
    response = _refused(405, "method_not_allowed", "Use POST.")
    response.headers["Allow"] = "POST"
    return response


# A wrong method fails at routing, before any blueprint is known, so a blueprint's error
# handler never sees it: these rules take the other methods and answer 405 themselves.
for _path, _endpoint in (("/channels/ussd/africastalking", "hop_wrong_method"),
                         ("/channels/ussd/africastalking/events", "events_wrong_method")):
    bp.add_url_rule(_path, _endpoint, _wrong_method, methods=["GET", "PUT", "PATCH", "DELETE"],
                    strict_slashes=False)
