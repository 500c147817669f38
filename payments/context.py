"""What the payment endpoints and jobs need from the running app, set once by ``create_app``."""
from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from flask import Flask, current_app, has_app_context
from sqlalchemy.orm import sessionmaker

from commerce.jobs import JobQueue
from payments.base import ProviderEnv, TokenCache
from payments.http import make_client
from payments.secrets import SecretBox
from payments.tokens import InProcessTokens

KEY = "duka.payments"

# Each provider's base URL, up to and including any API version (settings override them).
DEFAULT_BASE_URLS = {
    "mpesa": "https://sandbox.safaricom.co.ke",
    "momo": "https://sandbox.momodeveloper.mtn.com",
    "paystack": "https://api.paystack.co",
    "flutterwave": "https://api.flutterwave.com/v3",
}


@dataclass
class PaymentServices:
    db: sessionmaker
    jobs: JobQueue
    secrets: SecretBox
    public_url: str = "http://127.0.0.1:5000"  # where providers reach our callbacks
    base_urls: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_BASE_URLS))
    tokens: TokenCache = field(default_factory=InProcessTokens)
    timeout: float = 10.0  # seconds per provider call (connect: at most 5)
    allow_simulated: bool = False  # only ``flask --app wsgi demo`` turns this on
    _clients: dict[str, httpx.Client] = field(default_factory=dict, repr=False)

    def env(self, provider: str) -> ProviderEnv:
        base_url = self.base_urls.get(provider) or DEFAULT_BASE_URLS[provider]
        return ProviderEnv(base_url=base_url, http=self.client_for(base_url), tokens=self.tokens)

    def client_for(self, base_url: str) -> httpx.Client:
        """One pooled client per base URL (httpx clients are thread-safe)."""
        client = self._clients.get(base_url)
        if client is None:
            client = self._clients[base_url] = make_client(
                base_url, httpx.Timeout(self.timeout, connect=min(self.timeout, 5.0)))
        return client


def init_app(app: Flask, services: PaymentServices) -> None:
    app.extensions[KEY] = services


def services() -> PaymentServices:
    return current_app.extensions[KEY]


def simulation_allowed() -> bool:
    return has_app_context() and KEY in current_app.extensions and services().allow_simulated
