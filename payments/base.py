"""What every payment provider module offers, and what it is given.

A provider module (``mpesa``, ``momo``, ``paystack``, ``flutterwave``) is a plain object with the
methods of ``Provider``. It speaks its provider's wire format through ``env.http`` (an
``httpx.Client`` with explicit timeouts, based at the provider's URL) and turns answers into the
few values below; the service layer (``payments.service``) owns the database and the rules.
Amounts cross this line as ``Money`` (integer minor units); converting to the provider's own
units (whole KES, major-unit strings, kobo) happens inside the provider module only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol

import httpx

from commerce.money import Money

# A payment's statuses (``payments.state`` says which moves are allowed).
CREATED, PENDING, SUCCEEDED = "created", "pending", "succeeded"
FAILED, CANCELLED, EXPIRED = "failed", "cancelled", "expired"
SETTLED = (SUCCEEDED, FAILED, CANCELLED, EXPIRED)


class ProviderUnavailable(Exception):
    """The provider did not answer in time, or answered 5xx: try again later.

    ``maybe_taken``: a request that changes something went out and no answer came back (a read
    timeout, a dropped connection), so the provider may have acted on it.
    """

    def __init__(self, message: str = "", maybe_taken: bool = False):
        super().__init__(message)
        self.maybe_taken = maybe_taken


class ProviderRefused(Exception):
    """The provider said no (bad credentials, invalid number, ...): retrying will not help.

    ``reason`` is in plain words a shopper or merchant can act on.
    """

    def __init__(self, reason: str, code: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.code = code


class BadCallback(Exception):
    """A callback we cannot read: not JSON, fields missing. Answered 400, nothing changes."""


@dataclass(frozen=True)
class GatewayConfig:
    """One store's account at one provider, secrets decrypted for this call only."""

    store_id: int
    provider: str
    settings: Mapping[str, Any]
    secrets: Mapping[str, str]
    callback_url: str  # absolute; for mpesa and momo it ends in the store's secret token
    simulated: bool = False


class TokenCache(Protocol):
    def get(self, key: str, fetch: Callable[[], tuple[str, int]], margin: int = 60) -> str:
        """A cached access token for ``key``, or ``fetch()`` → (token, expires_in seconds),
        cached until ``margin`` seconds before it expires. One fetch at a time per key."""

    def forget(self, key: str) -> None: ...


@dataclass
class ProviderEnv:
    """Where and how to reach a provider: its base URL (a setting, so tests point it at a
    local fake), an ``httpx.Client`` with timeouts, and the shared token cache."""

    base_url: str
    http: httpx.Client
    tokens: TokenCache


@dataclass(frozen=True)
class Charge:
    """What we ask a provider to collect."""

    payment_id: int
    reference: str  # ours, unique per attempt: Paystack reference, tx_ref, MoMo externalId
    amount: Money
    phone: str  # E.164, "+254712345678"
    order_number: int
    store_name: str
    email: str | None = None


@dataclass(frozen=True)
class Initiated:
    provider_reference: str  # what the provider's callbacks and status queries will name
    status: str = PENDING  # a provider may settle at once (SUCCEEDED / FAILED)
    redirect_url: str | None = None  # a page the shopper must open (card checkout)
    reason: str = ""


@dataclass(frozen=True)
class Outcome:
    """A provider's word on one payment, from a callback or a status query."""

    provider_reference: str
    status: str  # PENDING, SUCCEEDED, FAILED, CANCELLED or EXPIRED
    amount: Money | None = None  # what the provider says was paid, when it says
    receipt: str | None = None  # the receipt a person reads (M-Pesa ``MpesaReceiptNumber``)
    reason: str = ""  # plain words for the shopper when it did not succeed
    dedup_key: str = ""  # callbacks: unique per provider event (applied once)
    payer: str = ""  # E.164: who paid, when the provider says (M-Pesa's PhoneNumber)


@dataclass(frozen=True)
class RefundOutcome:
    status: str  # PENDING, SUCCEEDED or FAILED
    provider_reference: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class PaidPayment:
    """A succeeded payment, as a provider needs it to refund or query."""

    payment_id: int
    provider_reference: str
    receipt: str | None
    amount: Money
    phone: str | None = None


@dataclass(frozen=True)
class CallbackRequest:
    """An inbound callback: the raw bytes (signatures are over them) and the parsed JSON."""

    raw_body: bytes
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


# How a shopper is asked for money (``Provider.how_asked``).
PROMPT, LINK, PROMPT_OR_LINK = "prompt", "link", "prompt_or_link"


class Provider(Protocol):
    name: str
    label: str  # shown to shoppers: "M-Pesa", "MTN MoMo", "Card (Paystack)"
    signed: bool  # True: callbacks carry a signature (webhook route); False: a path token
    pending_minutes: int  # how long a pending payment may wait for the shopper to approve
    # Asking again for the same charge never charges twice (the provider takes our reference
    # as an idempotency key). M-Pesa's STK push has none: a second push is a second prompt.
    repeat_safe: bool
    settings_fields: tuple[str, ...]  # the store's non-secret settings this provider needs
    secret_fields: tuple[str, ...]  # the store's secrets this provider needs

    def how_asked(self, settings: Mapping[str, Any], currency: str) -> str:
        """How the shopper is asked for money, said on the screen before it happens: ``PROMPT``
        (a PIN prompt on the phone), ``LINK`` (a page to open, sent by SMS) or
        ``PROMPT_OR_LINK`` (the provider's answer decides)."""

    def can_collect(self, settings: Mapping[str, Any], amount: Money) -> bool:
        """Whether the provider, as the store set it up (``settings``), can carry ``amount``
        at all (M-Pesa: whole shillings; Paystack's mobile money: only in a currency with
        wallets), so a way to pay that would only be refused is not offered."""

    def initiate(self, env: ProviderEnv, gateway: GatewayConfig, charge: Charge) -> Initiated:
        """Ask the provider to collect; raises ProviderUnavailable or ProviderRefused."""

    def reference_of(self, gateway: GatewayConfig, charge: Charge) -> str:
        """The reference ``initiate`` asks under, known before the provider answers (a
        repeat-safe provider takes ours); "" where the provider makes it up (M-Pesa)."""

    def callback_reference(self, callback: CallbackRequest) -> str | None:
        """The provider reference a callback names (to find the payment and its store before
        the signature can be checked with that store's key); None if it names none."""

    def verify_callback(self, gateway: GatewayConfig, callback: CallbackRequest) -> bool:
        """True when the signature is right (unsigned providers: always True)."""

    def parse_callback(self, env: ProviderEnv, gateway: GatewayConfig,
                       callback: CallbackRequest) -> Outcome | None:
        """The outcome a callback reports; None for events we do not act on. Raises BadCallback."""

    def acknowledge(self, outcome: Outcome | None) -> tuple[dict, int]:
        """The JSON body and HTTP status the provider expects back."""

    def query(self, env: ProviderEnv, gateway: GatewayConfig, provider_reference: str,
              charge: Charge) -> Outcome:
        """Ask the provider how a payment stands; raises ProviderUnavailable."""

    def refund(self, env: ProviderEnv, gateway: GatewayConfig, payment: PaidPayment,
               amount: Money, reason: str) -> RefundOutcome:
        """Give ``amount`` back; raises ProviderUnavailable or ProviderRefused."""
