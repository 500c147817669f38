"""Money as integer minor units plus an ISO 4217 code. No floats, ever."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision

# ISO 4217 minor units for the currencies we sell in (DESIGN.md §3); Babel knows the rest.
MINOR_UNITS = {
    "KES": 2, "NGN": 2, "GHS": 2, "TZS": 2, "ZAR": 2, "EGP": 2, "ETB": 2, "ZMW": 2,
    "UGX": 0, "RWF": 0, "XOF": 0, "XAF": 0,
}


def minor_units(currency: str) -> int:
    return MINOR_UNITS.get(currency, get_currency_precision(currency))


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
        return format_currency(self.to_decimal(), self.currency, locale=locale)

    def _same_currency(self, other: Money) -> None:
        if self.currency != other.currency:
            raise ValueError(f"cannot mix {self.currency} and {other.currency}")
