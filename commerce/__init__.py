"""The shop itself: stores, catalog, stock, carts, orders, events.

Knows no web framework, no channel and no payment provider. Services take a SQLAlchemy
``Session`` and typed arguments, return domain objects and raise ``DomainError``.
"""
