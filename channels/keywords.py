"""Text commands for SMS (and any chat): ``SEARCH tomatoes``, ``ORDER TOMA-1KG 2``, ``STOP``.

A keyword is recognised in English and in each language the store offers (its translation in
the catalogs), in any case and with or without accents. Each command is turned into where the
conversation goes next, so the dialogs stay the one place that shows screens.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import func, select

from commerce import carts, customers
from commerce.errors import DomainError
from commerce.models import Order, Variant
from commerce.search import search_products
from dialogs.base import Goto, Turn
from dialogs.i18n import translate
from dialogs.text import N_

COMMANDS = {
    "menu": N_("MENU"), "search": N_("SEARCH"), "cart": N_("CART"), "order": N_("ORDER"),
    "pay": N_("PAY"), "status": N_("STATUS"), "help": N_("HELP"), "lang": N_("LANG"),
    "stop": N_("STOP"), "start": N_("START"),
}
KEYWORDS_HELP = N_("Send MENU to shop, SEARCH <words>, CART, ORDER <code> <qty>, PAY, "
                   "STATUS <order>, LANG <code>, HELP. STOP ends messages, START resumes.")
MAX_QUANTITY = 99
OPT_COMMANDS = ("stop", "start")  # the caller's (opting out and in), never a destination


@dataclass(frozen=True)
class Command:
    name: str  # a key of COMMANDS
    args: str = ""


def _plain(word: str) -> str:
    """``Arrêt`` and ``ARRET`` are the same keyword."""
    decomposed = unicodedata.normalize("NFKD", word.strip(".,:;!?"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


def parse(text: str, locales: list[str]) -> Command | None:
    """The command ``text`` starts with, in English or one of ``locales``; else ``None``."""
    words = (text or "").split(maxsplit=1)
    if not words:
        return None
    first = _plain(words[0])
    for name, msgid in COMMANDS.items():
        spellings = {_plain(msgid)} | {_plain(translate(loc, msgid)) for loc in locales}
        if first in spellings:
            return Command(name, words[1].strip() if len(words) > 1 else "")
    return None


def opt_command(text: str, locales: list[str]) -> str | None:
    """``"stop"`` or ``"start"`` when the whole message is that word (any case, spacing or
    final stop); else ``None``: a message that only begins with it is something else."""
    command = parse(text, locales)
    if command is None or command.name not in OPT_COMMANDS or command.args:
        return None
    return command.name


def destination(turn: Turn, command: Command) -> Goto:
    """Where ``command`` takes the conversation (``stop``/``start`` are the caller's)."""
    t, args = turn.t, command.args
    if command.name == "search":
        if len(args) >= 3 and search_products(turn.db, turn.store.id, args):
            return Goto("search", {"query": args[:60]}, state="results")
        note = t("Nothing matches {query}.", query=args[:20]) if args else ""
        return Goto("search", {"note": note})
    if command.name == "cart":
        return Goto("cart")
    if command.name == "order":
        return _add_by_code(turn, args)
    if command.name == "pay":
        return _pay(turn, args)
    if command.name == "status":
        return _status(turn, args)
    if command.name == "lang":
        return _language(turn, args)
    if command.name == "help":
        return Goto("help", {"note": t(KEYWORDS_HELP)})
    return Goto("home")  # menu


def _add_by_code(turn: Turn, args: str) -> Goto:
    t = turn.t
    words = args.split()
    if not words or len(words) > 2 or (len(words) == 2 and not words[1].isdecimal()):
        return Goto("home", {"note": t("To order, send ORDER <code> <qty>, e.g. ORDER "
                                       "TOMA-1KG 2.")})
    problem = _add(turn, words[0], int(words[1]) if len(words) == 2 else 1)
    return Goto("home", {"note": problem}) if problem else Goto("cart")


def add_items(turn: Turn, items: tuple[tuple[str, int], ...]) -> Goto:
    """A WhatsApp catalog order (product codes and quantities): into the cart, then show it."""
    problems = [problem for code, quantity in items if (problem := _add(turn, code, quantity))]
    return Goto("cart", {"note": " ".join(problems)[:300]} if problems else {})


def _add(turn: Turn, code: str, quantity: int) -> str | None:
    """Put ``quantity`` of the variant whose SKU is ``code`` in the cart; what went wrong."""
    variant = turn.db.scalar(select(Variant).where(
        Variant.store_id == turn.store.id, func.upper(Variant.sku) == code.upper()))
    if variant is None:
        return turn.t("No product has the code {code}.", code=code[:20])
    if not 1 <= quantity <= MAX_QUANTITY:
        return turn.t("Please send a quantity from 1 to {most}.", most=MAX_QUANTITY)
    try:
        view = carts.do_add_to_cart(turn.db, turn.store, turn.customer.id, variant.id, quantity)
    except DomainError as error:
        return turn.t_error(error)
    turn.cart_changed(view)
    return None


def _pay(turn: Turn, args: str) -> Goto:
    """``PAY``: the latest order awaiting payment (or the cart); ``PAY 1001``: that order, or
    the merchant's draft #1001 the shopper was sent."""
    number = args.strip().lstrip("#")
    awaiting = [Order.store_id == turn.store.id, Order.customer_id == turn.customer.id,
                Order.financial_status == "pending"]
    if number.isdecimal() and len(number) < 10:
        order_id = turn.db.scalar(select(Order.id).where(
            *awaiting, Order.number == int(number),
            Order.status.in_(("pending_payment", "draft"))))
        if order_id is not None:
            return Goto("pay", {"order_id": order_id})
    unpaid = turn.db.scalar(select(Order.id).where(
        *awaiting, Order.status == "pending_payment").order_by(Order.id.desc()).limit(1))
    if unpaid is not None:
        return Goto("pay", {"order_id": unpaid})
    if turn.cart().item_count:
        return Goto("checkout")
    return Goto("home", {"note": turn.t("You have nothing to pay.")})


def _status(turn: Turn, args: str) -> Goto:
    number = args.strip().lstrip("#")
    order_id = turn.db.scalar(select(Order.id).where(
        Order.store_id == turn.store.id, Order.customer_id == turn.customer.id,
        Order.number == int(number))) if number.isdecimal() and len(number) < 10 else None
    if order_id is None:
        if not number:
            return Goto("orders")
        return Goto("orders", {"note": turn.t("You have no order #{number}.",
                                              number=number[:12])})
    return Goto("orders", {"order_id": order_id}, state="detail")


def _language(turn: Turn, args: str) -> Goto:
    code = args.strip().lower()[:5]
    if code not in turn.store.locale_list:
        return Goto("language")
    customers.do_update_customer(turn.db, turn.store, turn.customer.id, locale=code)
    turn.customer.locale = code
    return Goto("home")
