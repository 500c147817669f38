"""The payment providers Duka knows. A new provider is one module and one line here."""
from __future__ import annotations

from payments.base import Provider

PROVIDERS: dict[str, Provider] = {}


def register(provider: Provider) -> Provider:
    PROVIDERS[provider.name] = provider
    return provider


def get_provider(name: str) -> Provider:
    return PROVIDERS[name]


def load_providers() -> None:
    """Import each provider module; each registers itself with ``register``."""
    from payments import flutterwave, momo, mpesa, paystack  # noqa: F401
