"""Domain errors: a stable ``code`` for machines, a ``message`` a shopper or merchant can read."""
from __future__ import annotations


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
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
