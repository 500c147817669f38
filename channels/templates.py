"""Notification wording: a default per notification in code (translated per language), or the
merchant's own text for their store and a language (``MessageTemplate``).

A text has ``{placeholders}`` from the notification's own list (``NOTICES``); a value that does
not apply (no help line, no tracking number) is empty, and the spaces around it are tidied away.
Defaults aim at one SMS (160 GSM-7 characters) for a typical shop name and order.
"""
from __future__ import annotations

import re
import string
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from channels.models import MessageTemplate
from commerce.errors import DomainError
from commerce.models import Store
from dialogs.i18n import translate
from dialogs.text import N_

MAX_BODY = 1000
# An approved WhatsApp template's name (lowercase, digits, underscores) or a Twilio ContentSid.
WHATSAPP_TEMPLATE_NAME = re.compile(r"[A-Za-z0-9_]{1,120}")


class InvalidTemplate(DomainError):
    code = "invalid_template"


@dataclass(frozen=True)
class Notice:
    """One kind of notification: its default text (English source, translated when used) and
    the placeholders a text for it may use."""

    text: str
    placeholders: tuple[str, ...]
    to_merchant: bool = False


NOTICES: dict[str, Notice] = {
    "order.placed": Notice(
        N_("{store}: order #{number} received. {items}. Total {total}. {payment} {help}"),
        ("store", "number", "items", "total", "payment", "help")),
    "order.draft_sent": Notice(
        N_("{store}: your order #{number} is ready: {items}. Total {total}. {pay}"),
        ("store", "number", "items", "total", "pay")),
    "payment.completed": Notice(
        N_("{store}: we received {amount} by {method} {reference} {simulated} for order "
           "#{number}. Asante!"),
        ("store", "number", "amount", "method", "reference", "simulated")),
    "payment.failed": Notice(
        N_("{store}: your {method} payment for order #{number} failed: {reason}. To try "
           "again, dial in and choose My orders, then Pay."),
        ("store", "number", "method", "reason")),
    "payment.link": Notice(
        N_("{store}: pay {amount} for order #{number} here: {url}"),
        ("store", "number", "amount", "url")),
    "order.shipped": Notice(
        N_("{store}: order #{number} is on its way. {tracking}"),
        ("store", "number", "tracking", "carrier", "tracking_number")),
    "order.ready_for_pickup": Notice(
        N_("{store}: order #{number} is ready for pickup at {pickup_point}."),
        ("store", "number", "pickup_point", "pickup_address", "total")),
    "order.delivered": Notice(
        N_("{store}: order #{number} has been delivered. Thank you for shopping with us!"),
        ("store", "number")),
    "order.refunded": Notice(
        N_("{store}: we refunded {amount} for order #{number}."),
        ("store", "number", "amount")),
    "cart.reminder": Notice(
        N_("{store}: your cart is waiting: {items}. Total {total}. Come back to finish your "
           "order. Reply STOP to opt out."),
        ("store", "items", "total")),
    "merchant.new_order": Notice(
        N_("{store}: new order #{number} from {customer}: {items}. Total {total}, {payment}."),
        ("store", "number", "customer", "items", "total", "payment"), to_merchant=True),
    "merchant.overpaid": Notice(
        N_("{store}: order #{number} has received {amount} more than it owes ({method} "
           "{reference}). Please refund it."),
        ("store", "number", "amount", "method", "reference"), to_merchant=True),
    "merchant.low_stock": Notice(
        N_("{store}: low stock: {product} ({sku}) has {on_hand} left."),
        ("store", "product", "sku", "on_hand", "threshold"), to_merchant=True),
}


# -- checking and changing ----------------------------------------------------------------------
def placeholders_of(body: str) -> list[str]:
    """The placeholders in ``body`` in order of appearance (a WhatsApp template's parameters);
    raises ``ValueError`` on unbalanced braces."""
    return [field for _, field, _, _ in string.Formatter().parse(body) if field is not None]


def check_template(store: Store, name: str, locale: str, body: str,
                   whatsapp_template: str | None = None) -> tuple[str, str, str, str | None]:
    """(name, locale, body, whatsapp_template) made clean, or ``InvalidTemplate`` saying why."""
    if not isinstance(name, str) or name not in NOTICES:
        raise InvalidTemplate(f"There is no notification called {name!r}; the notifications "
                              f"are {', '.join(NOTICES)}.", field="name")
    if not isinstance(locale, str) or locale.strip().lower() not in store.locale_list:
        raise InvalidTemplate(f"{store.name} offers these languages: "
                              f"{', '.join(store.locale_list)}.", field="locale")
    locale = locale.strip().lower()
    body = body.strip() if isinstance(body, str) else ""
    if not body or len(body) > MAX_BODY:
        raise InvalidTemplate(f"The text must be 1 to {MAX_BODY} characters.", field="body")
    allowed = NOTICES[name].placeholders
    try:
        parsed = list(string.Formatter().parse(body))
    except ValueError:
        raise InvalidTemplate("Every { needs a matching }; write {{ or }} for a brace itself.",
                              field="body") from None
    for _, field, spec, conversion in parsed:
        # Plain names only: "{store.__class__}" or "{total:>99999}" must not reach format().
        if field is not None and (field not in allowed or spec or conversion):
            raise InvalidTemplate(f"{{{field}}} is not a placeholder of {name}; use "
                                  f"{', '.join('{' + p + '}' for p in allowed)}.", field="body")
    if whatsapp_template is not None:
        whatsapp_template = whatsapp_template.strip() if isinstance(whatsapp_template,
                                                                    str) else ""
        if not whatsapp_template:
            whatsapp_template = None
        elif not WHATSAPP_TEMPLATE_NAME.fullmatch(whatsapp_template):
            raise InvalidTemplate("A WhatsApp template is named with letters, digits and "
                                  "underscores (or a Twilio ContentSid).",
                                  field="whatsapp_template")
    return name, locale, body, whatsapp_template


def do_set_template(db: Session, store: Store, name: str, locale: str, body: str,
                    whatsapp_template: str | None = None) -> MessageTemplate:
    """Set the merchant's text for notification ``name`` in ``locale`` (and the approved
    WhatsApp template to send outside the 24-hour window). Commits; nothing changes on error."""
    name, locale, body, whatsapp_template = check_template(store, name, locale, body,
                                                           whatsapp_template)
    row = _find(db, store, name, locale)
    if row is None:
        row = MessageTemplate(store_id=store.id, name=name, locale=locale, body=body,
                              whatsapp_template=whatsapp_template)
        try:
            with db.begin_nested():  # another request may be saving the same one right now
                db.add(row)
        except IntegrityError:
            row = _find(db, store, name, locale)
    row.body, row.whatsapp_template = body, whatsapp_template
    db.commit()
    return row


def do_reset_template(db: Session, store: Store, name: str, locale: str) -> None:
    """Go back to the default text for ``name`` in ``locale``. Commits."""
    row = _find(db, store, name, locale)
    if row is not None:
        db.delete(row)
        db.commit()


@dataclass(frozen=True)
class TemplateView:
    name: str
    locale: str
    body: str  # the merchant's text, or the default in that language
    customised: bool
    whatsapp_template: str | None
    placeholders: tuple[str, ...]


def list_templates(db: Session, store: Store) -> list[TemplateView]:
    """Every notification in every language the store offers, as the shopper would get it."""
    own = {(row.name, row.locale): row for row in db.scalars(
        select(MessageTemplate).where(MessageTemplate.store_id == store.id))}
    views = []
    for name, notice in NOTICES.items():
        for locale in store.locale_list:
            row = own.get((name, locale))
            views.append(TemplateView(
                name, locale, row.body if row else translate(locale, notice.text),
                row is not None, row.whatsapp_template if row else None, notice.placeholders))
    return views


def _find(db: Session, store: Store, name: str, locale: str) -> MessageTemplate | None:
    return db.scalar(select(MessageTemplate).where(
        MessageTemplate.store_id == store.id, MessageTemplate.name == name,
        MessageTemplate.locale == locale))


# -- rendering ----------------------------------------------------------------------------------
def render_notification(db: Session, store: Store, name: str, locale: str,
                        values: dict[str, str]) -> tuple[str, MessageTemplate | None]:
    """The text of notification ``name`` for a reader of ``locale``, and the merchant's template
    row it came from (``None``: the default)."""
    row = _find(db, store, name, locale)
    if row is not None:
        return fill(row.body, values), row
    return fill_default(name, locale, values), None


def fill_default(name: str, locale: str, values: dict[str, str]) -> str:
    source = NOTICES[name].text
    try:
        return fill(translate(locale, source), values)
    except (KeyError, ValueError, IndexError):  # a translation with a broken placeholder
        return fill(source, values)


def fill(body: str, values: dict[str, str]) -> str:
    """``body`` with its placeholders filled; spaces left by empty values tidied away."""
    text = body.format_map(_Values({name: str(value) for name, value in values.items()}))
    return "\n".join(" ".join(line.split()) for line in text.splitlines()).strip()


class _Values(dict):
    def __missing__(self, name: str) -> str:  # a placeholder without a value reads as nothing
        return ""


def whatsapp_params(row: MessageTemplate, values: dict[str, str]) -> tuple[str, ...]:
    """The parameters of ``row``'s approved WhatsApp template: its placeholders in order.
    WhatsApp refuses an empty parameter, so an empty value is sent as "-"."""
    return tuple(str(values.get(name, "")).strip() or "-" for name in placeholders_of(row.body))
