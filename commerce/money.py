"""Money as integer minor units plus an ISO 4217 code. No floats, ever.

Formatting takes grouping, decimal marks and the symbol's side from Babel (CLDR) for the
locale, and the symbol itself from ``SYMBOLS`` for the currencies our shoppers use: CLDR's
are wrong or unfamiliar for several (``Ksh``, ``KES``, ``NGN``...). Spaces come out plain,
not CLDR's no-break spaces: the strings go to GSM-7 SMS and USSD screens.

Exchange rates are for display only: a shopper is always charged in the store's currency.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import lru_cache
from typing import TYPE_CHECKING

from babel import Locale, UnknownLocaleError
from babel.numbers import (
    NumberFormatError, UnknownCurrencyError, format_decimal, get_currency_precision,
    get_currency_symbol, get_minus_sign_symbol, parse_decimal, validate_currency,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from commerce.errors import DomainError, NotFound

if TYPE_CHECKING:  # the models import Money, so money imports them only late
    from commerce.models import ExchangeRate, Store

# ISO 4217 minor units for the currencies we sell in (DESIGN.md §3); Babel knows the rest.
MINOR_UNITS = {
    "KES": 2, "NGN": 2, "GHS": 2, "TZS": 2, "ZAR": 2, "EGP": 2, "ETB": 2, "ZMW": 2,
    "UGX": 0, "RWF": 0, "XOF": 0, "XAF": 0,
}

# What shoppers write. A one-character symbol sticks to the number (``₦5,000.00``, ``R12.50``);
# a longer one is set off by a space (``KSh 1,250.00``). Others: Babel's symbol for the locale.
SYMBOLS = {
    "KES": "KSh", "UGX": "USh", "TZS": "TSh", "RWF": "RF", "NGN": "₦", "GHS": "GH₵",
    "XOF": "CFA", "XAF": "CFA", "ZAR": "R", "EGP": "E£", "ETB": "Br", "ZMW": "K",
}

AMOUNT_CHARACTERS = frozenset("0123456789,.")
MAX_AMOUNT = 10**15  # minor units; far above any real price, far below a BIGINT
MAX_RATE = Decimal(10) ** 14  # the column is NUMERIC(24, 10)
RATE_PLACES = 10


class InvalidAmount(DomainError):
    code = "invalid_amount"


class InvalidExchangeRate(DomainError):
    code = "invalid_exchange_rate"


def minor_units(currency: str) -> int:
    return MINOR_UNITS.get(currency, get_currency_precision(currency))


def currency_symbol(currency: str, locale: str = "en") -> str:
    return SYMBOLS.get(currency) or get_currency_symbol(currency, _locale(locale))


@lru_cache(maxsize=64)
def _locale(code: str) -> Locale:
    """``en_KE``, ``sw`` or ``ha_KE`` (not in CLDR: falls back to ``ha``); English at worst."""
    for candidate in (code, code.replace("-", "_").split("_")[0], "en"):
        try:
            return Locale.parse(candidate.replace("-", "_"))
        except (UnknownLocaleError, ValueError, TypeError):
            continue
    raise AssertionError("Babel has no English")  # pragma: no cover


@dataclass(frozen=True, order=True)
class Money:
    amount: int  # minor units: 12050 KES is KSh 120.50
    currency: str

    def __post_init__(self):
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise TypeError("Money.amount must be an int of minor units")
        if len(self.currency) != 3 or not self.currency.isupper():
            raise ValueError(f"not an ISO 4217 code: {self.currency!r}")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __mul__(self, times: int) -> Money:
        if not isinstance(times, int):
            raise TypeError("Money can only be multiplied by a whole number")
        return Money(self.amount * times, self.currency)

    __rmul__ = __mul__

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    def to_decimal(self) -> Decimal:
        return Decimal(self.amount).scaleb(-minor_units(self.currency))

    def format(self, locale: str = "en") -> str:
        """``KSh 1,250.00``, ``₦5,000.00``, ``USh 15,000``; ``5 000 CFA`` in French."""
        return _formatted(self, locale, minor_units(self.currency))

    def format_short(self, locale: str = "en") -> str:
        """Like ``format`` but ``KSh 120`` rather than ``KSh 120.00``: for tight USSD screens."""
        digits = minor_units(self.currency)
        whole = self.amount % 10**digits == 0
        return _formatted(self, locale, 0 if whole else digits)

    def __format__(self, locale: str) -> str:
        """``f"{money}"`` is ``format_short`` in English; ``f"{money:fr_KE}"`` in French. A
        refusal carries Money in its values, for each channel to write in its reader's way."""
        return self.format_short(locale or "en")

    def _same_currency(self, other: Money) -> None:
        if self.currency != other.currency:
            raise ValueError(f"cannot mix {self.currency} and {other.currency}")


# Every menu line shows a price, and babel takes ~0.1 ms to format one; a shop shows the same
# few hundred prices over and over.
@lru_cache(maxsize=8192)
def _formatted(money: Money, locale: str, digits: int) -> str:
    loc = _locale(locale)
    pattern = loc.currency_formats["standard"]
    integer_part = pattern.number_pattern.split(".")[0]
    number = format_decimal(abs(money.to_decimal()),
                            format=integer_part + ("." + "0" * digits if digits else ""),
                            locale=loc)
    symbol = currency_symbol(money.currency, locale)
    if "¤" in pattern.suffix[0]:
        text = f"{number} {symbol}"
    else:
        text = f"{symbol}{' ' if len(symbol) > 1 else ''}{number}"
    sign = get_minus_sign_symbol(loc) if money.amount < 0 else ""
    return (sign + text).replace("\u00a0", " ").replace("\u202f", " ")


# -- reading amounts ------------------------------------------------------------------------------
def parse_amount(text: str, currency: str) -> int:
    """``"1,250.50"`` KES is ``125050``; a fraction of a minor unit (``12.345`` KES, ``100.5``
    UGX), a negative, or anything but digits with ``,`` grouping and a ``.`` is refused."""
    cleaned = (text or "").strip()
    if not cleaned or not set(cleaned) <= AMOUNT_CHARACTERS:
        raise InvalidAmount(f"{text!r} is not an amount: use digits, like 1250 or 1,250.50.")
    try:
        value = parse_decimal(cleaned, locale="en", strict=True)
    except NumberFormatError:
        raise InvalidAmount(f"{text!r} is not an amount: use digits, like 1250 or 1,250.50.") \
            from None
    minor = value.scaleb(minor_units(currency))
    if minor != minor.to_integral_value():
        places = minor_units(currency)
        if places == 0:
            raise InvalidAmount(f"{currency} amounts are whole numbers; {cleaned} is not.")
        raise InvalidAmount(f"{currency} amounts have at most {places} decimal places; "
                            f"{cleaned} has more.")
    if minor >= MAX_AMOUNT:
        raise InvalidAmount(f"{cleaned} is too large an amount.")
    return int(minor)


# -- exchange rates (display only) ----------------------------------------------------------------
def check_currency_code(code: str) -> str:
    """An ISO 4217 code Babel knows, upper-case."""
    if not isinstance(code, str) or len(code.strip()) != 3:
        raise InvalidExchangeRate(f"{code!r} is not a currency code like KES or USD.")
    code = code.strip().upper()
    try:
        validate_currency(code)
    except UnknownCurrencyError:
        raise InvalidExchangeRate(f"{code} is not a currency we know.") from None
    return code


def check_rate(rate: Decimal | str) -> Decimal:
    if isinstance(rate, bool) or not isinstance(rate, (Decimal, str)):
        raise InvalidExchangeRate("Give the rate as a decimal string, like \"0.0077\".")
    try:
        value = Decimal(rate.strip() if isinstance(rate, str) else rate)
    except InvalidOperation:
        raise InvalidExchangeRate(f"{rate!r} is not a number.") from None
    if not value.is_finite() or value <= 0:
        raise InvalidExchangeRate("An exchange rate must be more than zero.")
    if value >= MAX_RATE:
        raise InvalidExchangeRate("That exchange rate is too large.")
    if value != value.quantize(Decimal(1).scaleb(-RATE_PLACES), rounding=ROUND_HALF_EVEN):
        raise InvalidExchangeRate(f"An exchange rate has {RATE_PLACES} decimal places at most.")
    return value


def do_set_exchange_rate(session: Session, store: Store, quote_currency: str,
                         rate: Decimal | str) -> ExchangeRate:
    """1 unit of the store's currency = ``rate`` x ``quote_currency``; replaces an earlier rate."""
    from commerce.models import ExchangeRate

    quote = check_currency_code(quote_currency)
    if quote == store.currency:
        raise InvalidExchangeRate(f"{quote} is the store's own currency.")
    value = check_rate(rate)
    row = session.scalar(select(ExchangeRate).where(ExchangeRate.store_id == store.id,
                                                    ExchangeRate.quote == quote))
    if row is None:
        row = ExchangeRate(store_id=store.id, quote=quote, rate=value)
        session.add(row)
    else:
        row.rate = value
    session.commit()
    return row


def get_exchange_rate(session: Session, store: Store, quote_currency: str) -> Decimal:
    from commerce.models import ExchangeRate

    rate = session.scalar(select(ExchangeRate.rate).where(
        ExchangeRate.store_id == store.id, ExchangeRate.quote == quote_currency))
    if rate is None:
        raise NotFound(f"No exchange rate from {store.currency} to {quote_currency}.")
    return Decimal(rate)


def convert_for_display(session: Session, store: Store, money: Money, quote_currency: str) -> Money:
    """What ``money`` (in the store's currency) is in ``quote_currency``, rounded half-even to
    its minor units. For showing only: the shopper is charged ``money``."""
    if money.currency != store.currency:
        raise ValueError(f"{money.currency} is not the store's currency ({store.currency})")
    quote = quote_currency.upper()
    rate = get_exchange_rate(session, store, quote)
    minor = (money.to_decimal() * rate).scaleb(minor_units(quote))
    return Money(int(minor.quantize(Decimal(1), rounding=ROUND_HALF_EVEN)), quote)
