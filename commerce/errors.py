"""Domain errors: a stable ``code`` for machines, a ``message`` a shopper or merchant can read."""
from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 (the gettext convention)
    """Marks a message a shopper may read, for the translation catalogs in ``locales/``; a
    channel translates it when it shows it (``dialogs.base.Turn.t_error``)."""
    return message


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message: str, *, values: dict | None = None, **details):
        """``message`` is English; its ``{placeholders}`` are filled from ``values``. A channel
        translates ``template`` and fills that in, so what a shopper typed or a product's name
        never has to be in a catalog (and a ``{`` in it is never read as a placeholder)."""
        self.template = message
        self.values = dict(values or {})
        self.message = message.format(**self.values) if self.values else message
        super().__init__(self.message)
        self.details = details


class NotFound(DomainError):
    code = "not_found"


class InvalidQuantity(DomainError):
    code = "invalid_quantity"


class OutOfStock(DomainError):
    code = "out_of_stock"


class EmptyCart(DomainError):
    code = "empty_cart"


class InvalidPhoneNumber(DomainError):
    code = "invalid_phone_number"
