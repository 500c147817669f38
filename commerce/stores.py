"""Stores: creating and configuring a tenant, its opening hours, and the channel addresses
(USSD codes, SMS short codes and keywords, WhatsApp numbers) shoppers reach it on."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

import phonenumbers
from babel.numbers import UnknownCurrencyError, validate_currency
from sqlalchemy import inspect as sa_inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached

from commerce.errors import DomainError, InvalidPhoneNumber, NotFound
from commerce.models import ChannelAddress, Store
from commerce.phones import to_e164

SUPPORTED_LOCALES = ("en", "sw", "fr", "ha", "yo", "am", "zu", "pt")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # datetime.weekday() order
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)|24:00")  # "24:00" only as a closing time

# setting -> (smallest, largest) for the whole-number ones; see check_store_settings.
NUMBER_SETTINGS = {
    "tax_rate_bp": (0, 10_000),  # basis points: 1600 = 16 %
    "reservation_minutes": (1, 24 * 60),
    "abandoned_cart_minutes": (1, 7 * 24 * 60),
    "low_stock_threshold": (0, 1_000_000),
}
BOOLEAN_SETTINGS = ("prices_include_tax", "accepts_cash")  # accepts_cash: cash on delivery
SETTINGS = (*NUMBER_SETTINGS, *BOOLEAN_SETTINGS, "opening_hours")


class InvalidStore(DomainError):
    code = "invalid_store"


class InvalidChannelAddress(DomainError):
    code = "invalid_channel_address"


class ChannelAddressTaken(DomainError):
    code = "channel_address_taken"


# -- checking a store's details -------------------------------------------------------------------
def check_slug(slug: str) -> str:
    slug = slug.strip().lower() if isinstance(slug, str) else ""
    if not 3 <= len(slug) <= 60 or not SLUG.fullmatch(slug):
        raise InvalidStore("A store's web name is 3 to 60 letters, digits and single hyphens, "
                           "like mama-mboga.", field="slug")
    return slug


def check_store_name(name: str) -> str:
    name = name.strip() if isinstance(name, str) else ""
    if not 1 <= len(name) <= 120:
        raise InvalidStore("A store's name is 1 to 120 characters.", field="name")
    return name


def check_currency(currency: str) -> str:
    code = currency.strip().upper() if isinstance(currency, str) else ""
    try:
        validate_currency(code)
    except UnknownCurrencyError:
        raise InvalidStore(f"{currency!r} is not an ISO 4217 currency code like KES.",
                           field="currency") from None
    return code


def check_country(country: str) -> str:
    """An ISO 3166 region phonenumbers knows: it is how the store's local numbers are read."""
    code = country.strip().upper() if isinstance(country, str) else ""
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidStore(f"{country!r} is not an ISO 3166 country code like KE.",
                           field="country")
    return code


def check_locales(default_locale: str, locales: list[str] | str) -> tuple[str, list[str]]:
    """The offered languages (a subset of ``SUPPORTED_LOCALES``), the default among them."""
    if isinstance(locales, str):
        locales = locales.split(",")
    if not isinstance(locales, (list, tuple)):
        raise InvalidStore("Give the store's languages as a list, like [\"en\", \"sw\"].",
                           field="locales")
    wanted = [code.strip().lower() for code in locales if isinstance(code, str)]
    offered = list(dict.fromkeys(code for code in wanted if code))
    unknown = [code for code in offered if code not in SUPPORTED_LOCALES]
    if unknown or not offered or len(wanted) != len(locales):
        raise InvalidStore(f"Languages must be among {', '.join(SUPPORTED_LOCALES)}.",
                           field="locales")
    default = default_locale.strip().lower() if isinstance(default_locale, str) else ""
    if default not in offered:
        raise InvalidStore("The default language must be one the store offers.",
                           field="default_locale")
    return default, offered


@lru_cache(maxsize=1)
def _timezone_names() -> frozenset[str]:
    return frozenset(available_timezones()) - {"localtime", "posixrules", "Factory"}


def check_timezone(name: str) -> str:
    name = name.strip() if isinstance(name, str) else ""
    if name not in _timezone_names():
        raise InvalidStore(f"{name!r} is not an IANA time zone like Africa/Nairobi.",
                           field="timezone")
    return name


def check_contact_phone(raw: str | None, country: str) -> str | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        return to_e164(raw, country)
    except InvalidPhoneNumber as error:
        raise InvalidStore(error.message, field="contact_phone") from None


def _clock_minutes(text: object, closing: bool) -> int:
    match = CLOCK.fullmatch(text) if isinstance(text, str) else None
    if match is None or (text == "24:00" and not closing):
        raise InvalidStore(f"{text!r} is not a time like 08:00 (24-hour clock).",
                           field="opening_hours")
    return 24 * 60 if text == "24:00" else int(match[1]) * 60 + int(match[2])


def check_opening_hours(hours: dict | None) -> dict | None:
    """``{"mon": [["08:00", "13:00"], ["14:00", "18:00"]], ...}``; a missing day is closed,
    ``None`` means no hours are set (always open). Periods may not overlap or pass midnight."""
    if hours is None:
        return None
    if not isinstance(hours, dict):
        raise InvalidStore("Opening hours are given per day, like {\"mon\": [[\"08:00\", "
                           "\"18:00\"]]}.", field="opening_hours")
    clean: dict[str, list[list[str]]] = {}
    for day in hours:
        if day not in DAYS:
            raise InvalidStore(f"{day!r} is not a day: use {', '.join(DAYS)}.",
                               field="opening_hours")
    for day in (d for d in DAYS if d in hours):
        periods = hours[day]
        if not isinstance(periods, (list, tuple)):
            raise InvalidStore(f"Give {day} as a list of [opens, closes] pairs.",
                               field="opening_hours")
        spans = []
        for period in periods:
            if not isinstance(period, (list, tuple)) or len(period) != 2:
                raise InvalidStore(f"Give {day} as a list of [opens, closes] pairs.",
                                   field="opening_hours")
            opens, closes = _clock_minutes(period[0], False), _clock_minutes(period[1], True)
            if opens >= closes:
                raise InvalidStore(f"On {day}, {period[0]} to {period[1]} closes before it "
                                   "opens.", field="opening_hours")
            spans.append((opens, closes, [period[0], period[1]]))
        spans.sort()
        for earlier, later in zip(spans, spans[1:]):
            if later[0] < earlier[1]:
                raise InvalidStore(f"On {day}, the opening hours overlap.", field="opening_hours")
        clean[day] = [span[2] for span in spans]
    return clean


def check_store_settings(settings: dict) -> dict:
    """The settings ``do_update_store_settings`` accepts, checked; raises on the first bad one."""
    clean = {}
    for name, value in settings.items():
        if name in NUMBER_SETTINGS:
            low, high = NUMBER_SETTINGS[name]
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise InvalidStore(f"{name} must be a whole number from {low} to {high}.",
                                   field=name)
            clean[name] = value
        elif name in BOOLEAN_SETTINGS:
            if not isinstance(value, bool):
                raise InvalidStore(f"{name} must be true or false.", field=name)
            clean[name] = value
        elif name == "opening_hours":
            clean[name] = check_opening_hours(value)
        else:
            raise InvalidStore(f"{name!r} is not a store setting; settings are "
                               f"{', '.join(SETTINGS)}.", field=name)
    return clean


# -- creating and configuring -------------------------------------------------------------------
def get_store_by_slug(session: Session, slug: str) -> Store | None:
    return session.scalar(select(Store).where(Store.slug == slug))


def do_create_store(session: Session, slug: str, name: str, currency: str, country: str,
                    default_locale: str, locales: list[str] | str, timezone: str,
                    contact_phone: str | None = None, **settings) -> Store:
    """A new store; ``settings`` as for ``do_update_store_settings``. Checks everything first."""
    slug = check_slug(slug)
    country = check_country(country)
    default_locale, offered = check_locales(default_locale, locales)
    store = Store(
        slug=slug, name=check_store_name(name), currency=check_currency(currency),
        country=country, default_locale=default_locale, locales=",".join(offered),
        timezone=check_timezone(timezone),
        contact_phone=check_contact_phone(contact_phone, country),
        **check_store_settings(settings),
    )
    if get_store_by_slug(session, slug) is not None:
        raise InvalidStore(f"The web name {slug} is taken.", field="slug")
    session.add(store)
    try:
        session.commit()
    except IntegrityError:  # another request took the slug a moment ago
        session.rollback()
        raise InvalidStore(f"The web name {slug} is taken.", field="slug") from None
    return store


def do_update_store_settings(session: Session, store: Store, **settings) -> Store:
    """Change some of: tax_rate_bp, prices_include_tax, accepts_cash (cash on delivery or at
    pickup offered at checkout), reservation_minutes, abandoned_cart_minutes,
    low_stock_threshold, opening_hours. All or nothing."""
    for name, value in check_store_settings(settings).items():
        setattr(store, name, value)
    session.commit()
    return store


def is_open(store: Store, at: datetime) -> bool:
    """Whether ``at`` (timezone-aware) falls in the store's opening hours, in its timezone."""
    if at.tzinfo is None:
        raise ValueError("is_open needs a timezone-aware datetime")
    if store.opening_hours is None:
        return True
    local = at.astimezone(ZoneInfo(store.timezone))
    minute = local.hour * 60 + local.minute
    return any(_clock_minutes(opens, False) <= minute < _clock_minutes(closes, True)
               for opens, closes in store.opening_hours.get(DAYS[local.weekday()], ()))


# -- channel addresses ---------------------------------------------------------------------------
USSD_CODE = re.compile(r"\*\d+(?:\*\d+)*#")
STORE_NUMBER = re.compile(r"[1-9]\d{0,9}")
SHORT_CODE = re.compile(r"\+?\d{3,15}")
KEYWORD = re.compile(r"[A-Z0-9]{1,30}")
PHONE_NUMBER_ID = re.compile(r"\+?\d{1,60}")  # Cloud API number id, or +E.164 on Twilio
# The words shoppers send as commands by SMS, in every language the catalogs have (without
# accents, as they are matched). A keyword among them would take a shopper's STOP or MENU to
# one store instead of acting on it. commerce cannot read the channels' command list, so a
# test keeps this one in step with it.
COMMAND_WORDS = frozenset({
    "MENU", "MENYU", "SEARCH", "TAFUTA", "CHERCHER", "CART", "KIKAPU", "PANIER",
    "ORDER", "AGIZA", "COMMANDER", "PAY", "LIPA", "PAYER", "STATUS", "HALI", "STATUT",
    "HELP", "MSAADA", "AIDE", "LANG", "LUGHA", "LANGUE", "STOP", "ACHA", "ARRET",
    "START", "ANZA", "REPRENDRE",
})


def normalise_service_code(code: str) -> str:
    return "".join(code.split())


def check_channel_address(channel: str, address: str, selector: str = "") -> tuple[str, str, str]:
    """(channel, address, selector) made canonical; see ``ChannelAddress``."""
    address = normalise_service_code(address) if isinstance(address, str) else ""
    selector = selector.strip() if isinstance(selector, str) else None
    if channel == "ussd":
        if not USSD_CODE.fullmatch(address) or len(address) > 60:
            raise InvalidChannelAddress(f"{address!r} is not a USSD code like *384*123#.")
        if selector is None or (selector and not STORE_NUMBER.fullmatch(selector)):
            raise InvalidChannelAddress("A store number on a shared USSD code is digits, "
                                        "like 45.")
    elif channel == "sms":
        if not SHORT_CODE.fullmatch(address):
            raise InvalidChannelAddress(f"{address!r} is not an SMS short code like 22384.")
        selector = selector.upper() if selector else ""
        # A long number (+254..., e.g. on Twilio) can be one store's alone; a short code is
        # shared through keywords.
        dedicated = address.startswith("+") and selector == ""
        if not dedicated and not KEYWORD.fullmatch(selector):
            raise InvalidChannelAddress("An SMS keyword is one word of letters and digits, "
                                        "like MBOGA.")
        check_sms_keyword(selector)
    elif channel == "whatsapp":
        if not PHONE_NUMBER_ID.fullmatch(address):
            raise InvalidChannelAddress(f"{address!r} is not a WhatsApp phone-number id.")
        if selector:
            raise InvalidChannelAddress("A WhatsApp number belongs to one store: no selector.")
        selector = ""
    else:
        raise InvalidChannelAddress(f"{channel!r} is not a channel: use ussd, sms or whatsapp.")
    return channel, address, selector


def check_sms_keyword(keyword: str) -> None:
    """A keyword must not be what shoppers send for something else: a command word in any
    language, or a number (the choice on a menu)."""
    if keyword in COMMAND_WORDS:
        raise InvalidChannelAddress(f"{keyword} is a command shoppers send by SMS (like MENU, "
                                    "STOP or HELP, in any language); choose another keyword.")
    if keyword.isdecimal():
        raise InvalidChannelAddress("An SMS keyword cannot be only digits: shoppers send "
                                    "numbers to choose from a menu. Use letters, like MBOGA.")


def _check_address_free(session: Session, channel: str, address: str, selector: str) -> None:
    taken = session.scalars(select(ChannelAddress.selector).where(
        ChannelAddress.channel == channel, ChannelAddress.address == address)).all()
    if selector in taken:
        raise ChannelAddressTaken(f"{address} {selector}".strip() + " is already in use.")
    if channel in ("ussd", "sms") and selector == "" and taken:
        raise ChannelAddressTaken(f"{address} is shared by other stores; it cannot be "
                                  "dedicated to one.")
    if channel in ("ussd", "sms") and "" in taken:
        raise ChannelAddressTaken(f"{address} is dedicated to one store; it cannot be shared.")


def do_add_channel_address(session: Session, store: Store, channel: str, address: str,
                           selector: str = "") -> ChannelAddress:
    """Let shoppers reach ``store`` on a USSD code (dedicated: ``selector=""``; shared: the store
    number), an SMS short code and keyword, or a WhatsApp phone-number id."""
    channel, address, selector = check_channel_address(channel, address, selector)
    _check_address_free(session, channel, address, selector)
    row = ChannelAddress(store_id=store.id, channel=channel, address=address, selector=selector)
    session.add(row)
    try:
        session.commit()
    except IntegrityError:  # someone else took it a moment ago
        session.rollback()
        raise ChannelAddressTaken(f"{address} {selector}".strip() + " is already in use.") \
            from None
    return row


def list_channel_addresses(session: Session, store: Store) -> list[ChannelAddress]:
    return list(session.scalars(select(ChannelAddress).where(ChannelAddress.store_id == store.id)
                                .order_by(ChannelAddress.id)))


def _store_at(session: Session, channel: str, address: str, selector: str) -> Store | None:
    return session.scalar(
        select(Store).join(ChannelAddress, ChannelAddress.store_id == Store.id)
        .where(ChannelAddress.channel == channel, ChannelAddress.address == address,
               ChannelAddress.selector == selector)
    )


def find_store_by_ussd_code(session: Session, service_code: str) -> Store | None:
    """The store a dedicated USSD code belongs to."""
    return _store_at(session, "ussd", normalise_service_code(service_code), "")


def _address_in_use(session: Session, channel: str, address: str) -> bool:
    return session.scalar(select(ChannelAddress.id).where(
        ChannelAddress.channel == channel, ChannelAddress.address == address).limit(1)) is not None


class _DirectRoutes:
    """Every lookup asks the database."""

    def store_at(self, session: Session, channel: str, address: str,
                 selector: str) -> Store | None:
        return _store_at(session, channel, address, selector)

    def in_use(self, session: Session, channel: str, address: str) -> bool:
        return _address_in_use(session, channel, address)


_DIRECT = _DirectRoutes()
ROUTES_TTL = 30  # seconds a merchant's change to an address or a store setting may go unseen


class ChannelRoutes(_DirectRoutes):
    """Which store a channel address leads to, and the store's row, remembered in process.

    Every USSD hop needs its store, and merchants change addresses and store settings rarely, so
    each process reads an address at most once per ``ttl`` seconds (``ROUTES_TTL``): a new or
    removed address, or a store's changed settings (languages, tax, reservation time), is seen
    within that long. Entries are keyed by the whole address (channel, address, selector), so one
    store's entry never answers for another. A hop gets its own copy of the store, attached to
    its session without a query (``Session.merge(load=False)``); the cached copy is never
    changed, so requests share nothing they could write to.
    """

    MAX_ENTRIES = 10_000  # forgotten all at once beyond this: lookups are cheap to redo

    def __init__(self, ttl: float = ROUTES_TTL, clock=time.monotonic):
        self.ttl = ttl
        self.clock = clock
        self._entries: dict[tuple, tuple[float, object]] = {}

    def _cached(self, key: tuple):
        entry = self._entries.get(key)  # a dict read is atomic: no lock needed
        if entry is not None and entry[0] > self.clock():
            return entry
        return None

    def _keep(self, key: tuple, value) -> None:
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries = {}
        self._entries[key] = (self.clock() + self.ttl, value)

    def store_at(self, session: Session, channel: str, address: str,
                 selector: str) -> Store | None:
        key = (channel, address, selector)
        entry = self._cached(key)
        if entry is not None:
            copy = entry[1]
            return session.merge(copy, load=False) if copy is not None else None
        store = _store_at(session, channel, address, selector)
        self._keep(key, _detached_copy(store) if store is not None else None)
        return store

    def in_use(self, session: Session, channel: str, address: str) -> bool:
        key = (channel, address)
        entry = self._cached(key)
        if entry is None:
            entry = (0.0, _address_in_use(session, channel, address))
            self._keep(key, entry[1])
        return entry[1]


def _detached_copy(store: Store) -> Store:
    """A copy of ``store``'s row belonging to no session, as if just loaded and let go."""
    copy = Store(**{column.key: getattr(store, column.key)
                    for column in sa_inspect(Store).column_attrs})
    make_transient_to_detached(copy)
    return copy


@dataclass(frozen=True)
class UssdRoute:
    store: Store | None
    inputs_left: list[str] = field(default_factory=list)  # input for the store's dialog
    asks_store_number: bool = False  # a shared code dialled without a store number yet
    shared: bool = False  # the code is shared: the first input was (or will be) the number


def resolve_ussd(session: Session, service_code: str, inputs: list[str],
                 routes: ChannelRoutes | None = None) -> UssdRoute:
    """Whose dialog a USSD hop is for. ``*384*500*45*2#`` arrives as ``*384*500#`` with inputs
    ``["45", "2"]``: on a shared code that is store 45's with ``["2"]`` left; on a dedicated code
    every input is the store's. Unknown code, or unknown number on a shared one: no store.
    ``routes`` (a ``ChannelRoutes``) answers from its cache instead of the database."""
    routes = routes or _DIRECT
    code = normalise_service_code(service_code)
    inputs = list(inputs)
    store = routes.store_at(session, "ussd", code, "")
    if store is not None:
        return UssdRoute(store, inputs)
    if inputs:
        store = routes.store_at(session, "ussd", code, store_number(inputs[0]))
        if store is not None:
            return UssdRoute(store, inputs[1:], shared=True)
    if not routes.in_use(session, "ussd", code):
        return UssdRoute(None, inputs)
    return UssdRoute(None, inputs[1:], asks_store_number=not inputs, shared=True)


def store_number(typed: str) -> str:
    """A store number as a shopper may type it, as it is kept: ``045`` is store 45 (numbers are
    kept without leading zeros, ``STORE_NUMBER``)."""
    typed = typed.strip()
    return typed.lstrip("0") or typed if typed.isdigit() else typed


def resolve_sms(session: Session, short_code: str, text: str) -> tuple[Store | None, str]:
    """``"mboga 2 cabbage"`` to 22384 is (that store, ``"2 cabbage"``): the first word is the
    keyword, in any case. A number dedicated to one store (no keyword) takes any text. Neither:
    (None, the whole text)."""
    code = normalise_service_code(short_code or "")
    text = (text or "").strip()
    words = text.split(maxsplit=1)
    if words:
        keyword = words[0].strip(".,:;!?").upper()
        store = _store_at(session, "sms", code, keyword)
        if store is not None:
            return store, words[1].strip() if len(words) > 1 else ""
    return _store_at(session, "sms", code, ""), text


def resolve_whatsapp(session: Session, phone_number_id: str) -> Store | None:
    return _store_at(session, "whatsapp", (phone_number_id or "").strip(), "")


# -- changing a store's details, and its channel addresses ---------------------------------------
DETAILS = ("name", "default_locale", "locales", "timezone", "contact_phone")


def check_store_details(store: Store, details: dict) -> dict:
    """The details ``do_update_store_details`` accepts (name, languages, time zone, contact
    phone), checked against what the store has; column values, ready to set."""
    unknown = [name for name in details if name not in DETAILS]
    if unknown:
        raise InvalidStore(f"{unknown[0]!r} is not a store detail; details are "
                           f"{', '.join(DETAILS)}.", field=unknown[0])
    clean = {}
    if "name" in details:
        clean["name"] = check_store_name(details["name"])
    if "default_locale" in details or "locales" in details:
        default, offered = check_locales(details.get("default_locale", store.default_locale),
                                         details.get("locales", store.locale_list))
        clean["default_locale"], clean["locales"] = default, ",".join(offered)
    if "timezone" in details:
        clean["timezone"] = check_timezone(details["timezone"])
    if "contact_phone" in details:
        clean["contact_phone"] = check_contact_phone(details["contact_phone"], store.country)
    return clean


def do_update_store_details(session: Session, store: Store, **changes) -> Store:
    """Change some of the store's details (``DETAILS``) and settings (``SETTINGS``) together;
    commits. Every value is checked before any is set: all or nothing. ``contact_phone`` and
    ``opening_hours`` take ``None`` (no phone; always open); the languages are checked
    together, the default among those offered. Channels see the change within
    ``ROUTES_TTL`` seconds (they keep the store's row that long), except ``accepts_cash``,
    which shoppers see through the storefront (``commerce.storefront``) on their next hop."""
    details = {name: value for name, value in changes.items() if name not in SETTINGS}
    settings = {name: value for name, value in changes.items() if name in SETTINGS}
    clean = check_store_details(store, details)
    clean.update(check_store_settings(settings))
    for name, value in clean.items():
        setattr(store, name, value)
    session.commit()
    return store


def do_remove_channel_address(session: Session, store: Store, address_id: int) -> None:
    """Stop answering shoppers on one of the store's addresses; commits. Channels cache where
    an address leads for ``ROUTES_TTL`` seconds, so it goes quiet within that long."""
    row = session.scalar(select(ChannelAddress).where(ChannelAddress.id == address_id,
                                                      ChannelAddress.store_id == store.id))
    if row is None:
        raise NotFound("No such channel address in this store.")
    session.delete(row)
    session.commit()
