"""Card and mobile money through Flutterwave, API v3 (``FLUTTERWAVE_BASE_URL`` ends in ``/v3``).

Where the store's currency has a mobile-money wallet we push a prompt to the shopper's phone
(``POST /charges?type=mpesa`` for KES, ``mobile_money_ghana`` for GHS, ...); otherwise (NGN and
the rest) we make a hosted checkout link (``POST /payments``, "Flutterwave Standard") that the
shopper gets by SMS. Our charge reference is Flutterwave's ``tx_ref``: their callbacks and
status queries name it, and a retried request with the same ``tx_ref`` is refused by
Flutterwave as a duplicate, which is how a retry after a timeout never charges twice.

Amounts are major units on the wire (``340.5`` is KES 340.50): they are written and read as
exact decimals here, never through a float. The webhook carries the store's dashboard "secret
hash" in ``verif-hash`` (newer accounts also sign the body: ``flutterwave-signature``), and as
Flutterwave asks, a webhook is never believed alone: the transaction is fetched again
(``GET /transactions/{id}/verify``) and that answer decides.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
from dataclasses import replace
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

import httpx
import phonenumbers
from phonenumbers import carrier

from commerce.money import Money, minor_units
from payments.base import (
    CANCELLED, EXPIRED, FAILED, LINK, PENDING, PROMPT, PROMPT_OR_LINK, SUCCEEDED, BadCallback,
    CallbackRequest, Charge, GatewayConfig, Initiated, Outcome, PaidPayment, ProviderEnv,
    ProviderRefused, ProviderUnavailable, RefundOutcome,
)
from payments.http import send
from payments.registry import register

log = logging.getLogger(__name__)

# The store's currency decides the way to pay: a mobile-money prompt where Flutterwave has one.
MOBILE_MONEY = {
    "KES": "mpesa", "GHS": "mobile_money_ghana", "UGX": "mobile_money_uganda",
    "RWF": "mobile_money_rwanda", "ZMW": "mobile_money_zambia", "TZS": "mobile_money_tanzania",
    "XAF": "mobile_money_franco", "XOF": "mobile_money_franco",
}

# The wallet's network is the shopper's, not the shop's: read it from the number's carrier
# (``phonenumbers``' name for it) as Flutterwave spells it. A number we cannot place goes
# without one and Flutterwave says what it needs.
NETWORKS = {
    "mobile_money_ghana": {"MTN": "MTN", "Telecel": "VODAFONE", "Vodafone": "VODAFONE",
                           "AirtelTigo": "TIGO", "at": "TIGO"},
    "mobile_money_uganda": {"MTN": "MTN", "Airtel": "AIRTEL"},
    "mobile_money_zambia": {"MTN": "MTN", "Airtel": "AIRTEL", "ZAMTEL": "ZAMTEL"},
    "mobile_money_tanzania": {"Vodacom": "VODAFONE", "Airtel": "AIRTEL", "Tigo": "TIGO",
                              "Halotel": "HALOPESA"},
}

WALLET_NAMES = {"mpesa": "M-Pesa"}  # Flutterwave's payment_type → what the shopper calls it


class Flutterwave:
    name = "flutterwave"
    label = "Card (Flutterwave)"
    signed = True
    # A card link goes by SMS and may be opened later on another phone; the hosted checkout
    # session is made to last exactly as long (``session_duration``).
    pending_minutes = 30
    repeat_safe = True  # our reference is its idempotency key
    settings_fields: tuple[str, ...] = ()
    secret_fields = ("secret_key", "secret_hash")

    def how_asked(self, settings, currency: str) -> str:
        # M-Pesa through Flutterwave is a prompt; other wallets answer "callback" (a prompt)
        # or "redirect" (a page, sent by SMS) as Flutterwave decides; no wallet: a card page.
        charge_type = MOBILE_MONEY.get(currency)
        if charge_type is None:
            return LINK
        return PROMPT if charge_type == "mpesa" else PROMPT_OR_LINK

    def can_collect(self, settings, amount: Money) -> bool:
        # Its KES charge is an M-Pesa prompt, and M-Pesa carries whole shillings only.
        return MOBILE_MONEY.get(amount.currency) != "mpesa" or amount.amount % 100 == 0

    # -- asking for money -----------------------------------------------------------------------
    def initiate(self, env: ProviderEnv, gateway: GatewayConfig, charge: Charge) -> Initiated:
        charge_type = MOBILE_MONEY.get(charge.amount.currency)
        if charge_type:
            fields = {"tx_ref": charge.reference, "currency": charge.amount.currency,
                      "email": charge.email, "phone_number": _digits(charge.phone),
                      **_wallet(charge_type, charge.phone)}
            path, params = "/charges", {"type": charge_type}
        else:
            fields = {"tx_ref": charge.reference, "currency": charge.amount.currency,
                      "customer": {"email": charge.email, "phonenumber": _digits(charge.phone)},
                      "customizations": {"title": charge.store_name,
                                         "description": f"Order #{charge.order_number}"},
                      "session_duration": self.pending_minutes}
            path, params = "/payments", {}
        # Never retried here: a second ask for money waits for the job queue, same tx_ref.
        response = send(env.http, "POST", path, params=params, content=_json(fields, charge.amount),
                        headers={**_auth(gateway), "Content-Type": "application/json"})
        body = _read(response)
        if response.status_code >= 400 or body.get("status") != "success":
            return _refused(charge.reference, response.status_code, _message(body),
                            card_link=not charge_type)
        if not charge_type:
            link = (body.get("data") or {}).get("link")
            if not link:
                raise ProviderUnavailable("Flutterwave made no checkout link")
            return Initiated(charge.reference, PENDING, redirect_url=link)
        data = body.get("data") or {}
        if data.get("status") == "failed":  # refused at once, e.g. the number has no wallet
            return Initiated(charge.reference, FAILED, reason=_failure(data)[1])
        # Mode "callback": the prompt is on the phone and a webhook follows. "redirect": the
        # shopper must open a page (an OTP for some wallets) — it goes out by SMS like a link.
        authorization = (body.get("meta") or data.get("meta") or {}).get("authorization") or {}
        if authorization.get("mode") == "redirect" and authorization.get("redirect"):
            return Initiated(charge.reference, PENDING, redirect_url=authorization["redirect"])
        return Initiated(charge.reference, PENDING)

    def reference_of(self, gateway: GatewayConfig, charge: Charge) -> str:
        return charge.reference  # tx_ref

    # -- hearing back ---------------------------------------------------------------------------
    def callback_reference(self, callback: CallbackRequest) -> str | None:
        data = callback.body.get("data")
        if not isinstance(data, dict):
            raise BadCallback("The webhook has no data.")
        tx_ref = data.get("tx_ref")
        if callback.body.get("event") == "charge.completed" and not tx_ref:
            raise BadCallback("The webhook names no tx_ref.")
        return str(tx_ref) if tx_ref else None

    def verify_callback(self, gateway: GatewayConfig, callback: CallbackRequest) -> bool:
        secret = gateway.secrets.get("secret_hash", "").encode()
        headers = {name.lower(): value for name, value in callback.headers.items()}
        given_hash = headers.get("verif-hash")
        signature = headers.get("flutterwave-signature")
        if not secret or (given_hash is None and signature is None):
            return False
        if given_hash is not None and hmac.compare_digest(given_hash.encode(), secret):
            return True
        if signature is not None:
            expected = base64.b64encode(hmac.new(secret, callback.raw_body,
                                                 hashlib.sha256).digest())
            return hmac.compare_digest(signature.encode(), expected)
        return False

    def parse_callback(self, env: ProviderEnv, gateway: GatewayConfig,
                       callback: CallbackRequest) -> Outcome | None:
        event, data = callback.body.get("event"), callback.body["data"]
        if event != "charge.completed":
            return None  # transfers, subscriptions...: not ours to act on
        tx_ref, transaction_id = str(data["tx_ref"]), str(data.get("id", ""))
        if not transaction_id.isdigit() or not data.get("status"):
            raise BadCallback("The webhook lacks the transaction id or status.")
        try:
            response = send(env.http, "GET", f"/transactions/{transaction_id}/verify",
                            headers=_auth(gateway))
            body = _read(response)
            fresh = body.get("data") if response.status_code == 200 else None
            if not isinstance(fresh, dict) or str(fresh.get("tx_ref")) != tx_ref:
                log.warning("flutterwave webhook %s for %s not confirmed by verify (%s: %s)",
                            transaction_id, tx_ref, response.status_code, _message(body))
                return Outcome(tx_ref, PENDING)
            outcome = _outcome(tx_ref, fresh)
        except ProviderUnavailable as error:
            # No key is spent on it: the webhook may come again, and the reconciler asks.
            log.warning("flutterwave webhook for %s left for reconciliation: %s", tx_ref, error)
            return Outcome(tx_ref, PENDING)
        if outcome.status == PENDING:
            return outcome
        return replace(outcome, dedup_key=f"{event}:{transaction_id}")

    def acknowledge(self, outcome: Outcome | None) -> tuple[dict, int]:
        return {}, 200  # Flutterwave wants a 200; anything else is retried

    def query(self, env: ProviderEnv, gateway: GatewayConfig, provider_reference: str,
              charge: Charge) -> Outcome:
        found = _by_reference(env, gateway, provider_reference, retries=1)
        return Outcome(provider_reference, PENDING) if found is None else _outcome(
            provider_reference, found)

    # -- giving back ----------------------------------------------------------------------------
    def refund(self, env: ProviderEnv, gateway: GatewayConfig, payment: PaidPayment,
               amount: Money, reason: str) -> RefundOutcome:
        # The refund names Flutterwave's transaction id, kept as the payment's receipt when it
        # succeeded; a payment recorded some other way has it looked up by our tx_ref.
        transaction_id = payment.receipt if (payment.receipt or "").isdigit() else None
        if transaction_id is None:
            found = _by_reference(env, gateway, payment.provider_reference, retries=1)
            if found is None or not str(found.get("id", "")).isdigit():
                raise ProviderRefused("Flutterwave has no payment with this reference.")
            transaction_id = str(found["id"])
        partial = amount if amount != payment.amount else None  # no amount: all of it
        response = send(env.http, "POST", f"/transactions/{transaction_id}/refund",
                        content=_json({}, partial),
                        headers={**_auth(gateway), "Content-Type": "application/json"})
        body = _read(response)
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        if response.status_code >= 400 or body.get("status") != "success":
            raise ProviderRefused(f"Flutterwave refused the refund: {_message(body)}",
                                  code=str(response.status_code))
        status = {"completed": SUCCEEDED, "failed": FAILED}.get(data.get("status"), PENDING)
        return RefundOutcome(status, provider_reference=str(data.get("id") or "") or None)


# -- the wire -----------------------------------------------------------------------------------
def _auth(gateway: GatewayConfig) -> dict[str, str]:
    return {"Authorization": f"Bearer {gateway.secrets['secret_key']}"}


def _json(fields: dict, amount: Money | None) -> bytes:
    """``fields`` as JSON, led by ``"amount"`` in major units written as an exact number.

    The json module can write a Decimal only as a string, and money never goes through a float,
    so the amount is put in by hand: KES 340.50 is ``"amount":340.5``, UGX 1500 ``1500``.
    """
    text = json.dumps(fields, separators=(",", ":"))
    if amount is None:
        return text.encode()
    number = format(amount.to_decimal().normalize(), "f")
    return ('{"amount":' + number + ("," + text[1:] if fields else "}")).encode()


def _read(response: httpx.Response) -> dict:
    """The answer's JSON object with amounts as exact Decimals; ``{}`` if it has none."""
    try:
        body = response.json(parse_float=Decimal)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _message(body: dict) -> str:
    return str(body.get("message") or "no message")[:200]


def _money(value, currency) -> Money:
    """Flutterwave's major-unit amount as Money. A fraction below the currency's minor unit is
    cut off, so an underpayment can never round up to the amount we asked for."""
    try:
        major = Decimal(str(value))
        minor = major.scaleb(minor_units(str(currency))).to_integral_value(rounding=ROUND_FLOOR)
        return Money(int(minor), str(currency))
    except (InvalidOperation, ValueError, TypeError, KeyError) as error:
        raise ProviderUnavailable(f"Flutterwave sent an unreadable amount {value!r} {currency!r}"
                                  ) from error


def _digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())  # "+254712345678" → "254712345678"


def _wallet(charge_type: str, phone: str) -> dict[str, str]:
    """The ``network`` (or, for francophone wallets, ``country``) of the shopper's number."""
    try:
        number = phonenumbers.parse(phone)
    except phonenumbers.NumberParseException:
        return {}
    if charge_type == "mobile_money_franco":
        country = phonenumbers.region_code_for_number(number)
        return {"country": country} if country else {}
    network = NETWORKS.get(charge_type, {}).get(carrier.name_for_number(number, "en"))
    return {"network": network} if network else {}


def _refused(tx_ref: str, status_code: int, message: str, card_link: bool) -> Initiated:
    lowered = message.lower()
    if status_code == 400 and ("duplicate" in lowered or (
            "ref" in lowered and ("already" in lowered or "been used" in lowered))):
        if card_link:
            # An earlier try made the checkout link but its answer was lost: nobody holds that
            # link, so no one can pay on it. Say so, and the shopper asks again (a new tx_ref),
            # rather than wait half an hour for a link that never comes (as Paystack's).
            log.info("flutterwave already has %s (%s); its link was lost", tx_ref, message)
            return Initiated(tx_ref, FAILED, reason="The payment link was not made.")
        # The same tx_ref was accepted before (our earlier try timed out after Flutterwave took
        # it): that prompt stands, and the webhook or the reconciler settles it.
        log.info("flutterwave already has %s (%s): waiting for it", tx_ref, message)
        return Initiated(tx_ref, PENDING)
    log.warning("flutterwave refused %s (%s): %s", tx_ref, status_code, message)
    if status_code in (401, 403):
        raise ProviderRefused("This shop cannot take Flutterwave payments just now. Please pay "
                              "another way.", code=str(status_code))
    raise ProviderRefused("The payment could not be started. Please check your number and try "
                          "again.", code=message)


def _by_reference(env: ProviderEnv, gateway: GatewayConfig, tx_ref: str,
                  retries: int) -> dict | None:
    """The transaction named ``tx_ref``, or None when Flutterwave has none (not started yet)."""
    response = send(env.http, "GET", "/transactions/verify_by_reference",
                    params={"tx_ref": tx_ref}, headers=_auth(gateway), retries=retries)
    body = _read(response)
    if response.status_code in (400, 404) and "no transaction" in _message(body).lower():
        return None
    data = body.get("data")
    if response.status_code != 200 or not isinstance(data, dict):
        raise ProviderUnavailable(f"verify_by_reference answered {response.status_code}: "
                                  f"{_message(body)}")
    if str(data.get("tx_ref")) != tx_ref:
        raise ProviderUnavailable(f"verify_by_reference for {tx_ref} answered for "
                                  f"{data.get('tx_ref')!r}")
    return data


def _outcome(tx_ref: str, data: dict) -> Outcome:
    """What a transaction record (from verify) says. ``amount`` is what the shop asked for;
    ``charged_amount`` adds the fee when the shopper bears it, so it is not compared."""
    status = data.get("status")
    if status == "successful":
        return Outcome(tx_ref, SUCCEEDED, amount=_money(data.get("amount"), data.get("currency")),
                       receipt=str(data.get("id") or "") or None)
    if status == "cancelled":  # the shopper closed the hosted checkout
        return Outcome(tx_ref, CANCELLED, reason="You cancelled the payment.")
    if status == "failed":
        settled, reason = _failure(data)
        return Outcome(tx_ref, settled, reason=reason)
    return Outcome(tx_ref, PENDING)


def _failure(data: dict) -> tuple[str, str]:
    """(status, plain reason) from Flutterwave's ``processor_response``, which passes on the
    wallet's or bank's own words ("Request cancelled by user", "Insufficient funds")."""
    said = str(data.get("processor_response") or "").strip()
    lowered = said.lower()
    wallet = WALLET_NAMES.get(str(data.get("payment_type")), "mobile money")
    if data.get("payment_type") == "card" or data.get("card"):
        wallet = "card"
    if "cancel" in lowered or "declined by user" in lowered or "rejected by user" in lowered:
        return CANCELLED, f"You cancelled the {wallet} payment."
    if "insufficient" in lowered or "balance" in lowered:
        where = "on your card" if wallet == "card" else f"in your {wallet} account"
        return FAILED, f"Not enough money {where}."
    if re.search(r"\bpin\b", lowered):
        return FAILED, "Wrong PIN."
    if "timeout" in lowered or "timed out" in lowered or "expired" in lowered:
        return EXPIRED, "No answer came from your phone in time."
    if said and len(said) <= 80 and said.lower() not in ("failed", "declined", "n/a"):
        return FAILED, said if said.endswith(".") else said + "."
    return FAILED, "The payment did not go through."


provider = register(Flutterwave())
