"""Card and mobile money through Paystack (``PAYSTACK_BASE_URL``, ``https://api.paystack.co``).

A store chooses one way in its ``mode`` setting:

- ``"mobile_money"``: a prompt on the shopper's phone, ``POST /charge`` with ``mobile_money``
  (KES: M-Pesa; GHS: MTN, Telecel or AirtelTigo, read from the shopper's own number, since
  the wallet is the shopper's and not the shop's).
- ``"card"``: a hosted checkout page, ``POST /transaction/initialize``; its link goes to the
  shopper by SMS (the service records ``payment.action_required``).

Our charge reference (``DK<store>-<order>-<payment>``: letters, digits and ``-`` only, as
Paystack asks) is Paystack's ``reference``: webhooks and ``GET /transaction/verify`` name it,
and Paystack refuses a second transaction with it, which is how a retry after a timeout never
charges twice. Amounts are integer subunits on the wire (kobo, pesewas, cents).

Webhooks are signed: ``x-paystack-signature`` is the hex HMAC-SHA512 of the raw body keyed
with the store's secret key. Only ``charge.success`` is acted on; Paystack documents no
failure event, so a failed or cancelled charge is learnt by the reconciler's verify.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import re

import phonenumbers
from phonenumbers import carrier

from commerce.money import Money, minor_units
from payments.base import (
    CANCELLED, EXPIRED, FAILED, LINK, PENDING, PROMPT, PROMPT_OR_LINK, SUCCEEDED, BadCallback,
    CallbackRequest, Charge, GatewayConfig, Initiated, Outcome, PaidPayment, ProviderEnv,
    ProviderRefused, ProviderUnavailable, RefundOutcome,
)
from payments.http import json_of, send
from payments.registry import register

log = logging.getLogger(__name__)

# The currencies Paystack takes and the decimals of its subunit in each.
SUBUNIT_DECIMALS = {"NGN": 2, "GHS": 2, "KES": 2, "ZAR": 2, "USD": 2}

# Mobile money: the shopper's network (``phonenumbers``' carrier name) → Paystack's provider
# code, and the wallet's name as shoppers say it.
WALLETS = {
    "KES": {"Safaricom": ("mpesa", "M-Pesa")},
    "GHS": {"MTN": ("mtn", "MTN MoMo"), "Telecel": ("vod", "Telecel Cash"),
            "Vodafone": ("vod", "Telecel Cash"), "at": ("atl", "AT Money"),
            "AirtelTigo": ("atl", "AT Money")},
}

# Transaction statuses (verify) that mean "not settled yet". ``abandoned`` is what a checkout
# link is until the shopper pays on it, so it waits for ``pending_minutes`` like the rest.
WAITING = {"abandoned", "ongoing", "pending", "processing", "queued", "pay_offline",
           "send_otp"}


class Paystack:
    name = "paystack"
    label = "Card (Paystack)"
    signed = True
    # A card link goes by SMS and may be opened a while later, so it gets half an hour; a
    # mobile-money prompt that is refused or times out sooner is learnt by verify before that.
    pending_minutes = 30
    repeat_safe = True  # our reference is its idempotency key
    settings_fields: tuple[str, ...] = ("mode",)  # "card" or "mobile_money"
    secret_fields = ("secret_key",)

    def how_asked(self, settings, currency: str) -> str:
        if str(settings.get("mode", "")).strip().lower() != "mobile_money":  # as initiate reads it
            return LINK
        # M-Pesa is a prompt; other wallets may answer with a page to open (open_url).
        return PROMPT if currency == "KES" else PROMPT_OR_LINK

    def can_collect(self, settings, amount: Money) -> bool:
        if str(settings.get("mode", "")).strip().lower() != "mobile_money":  # a card page
            return True
        if amount.currency not in WALLETS:  # initiate would refuse it: no wallet to prompt
            return False
        return amount.currency != "KES" or amount.amount % 100 == 0  # M-Pesa: whole shillings

    # -- asking for money -----------------------------------------------------------------------
    def initiate(self, env: ProviderEnv, gateway: GatewayConfig, charge: Charge) -> Initiated:
        mode = str(gateway.settings.get("mode", "")).strip().lower()
        amount = _subunits(charge.amount)
        fields = {"email": charge.email, "amount": amount, "currency": charge.amount.currency,
                  "reference": charge.reference}
        if mode == "mobile_money":
            provider, phone = _wallet(charge)
            path = "/charge"
            fields["mobile_money"] = {"phone": phone, "provider": provider}
        elif mode == "card":
            path = "/transaction/initialize"
            fields["channels"] = ["card"]
        else:
            log.warning("store %s: paystack mode %r is neither card nor mobile_money",
                        gateway.store_id, mode)
            raise ProviderRefused(_SHOP_CANNOT, code="mode")
        # Never retried here: asking for money again is the job queue's, with this reference.
        response = send(env.http, "POST", path, json=fields, headers=_auth(gateway))
        body = json_of(response)
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        if response.status_code >= 400 or body.get("status") is not True:
            if data.get("status") == "failed":
                return Initiated(charge.reference, FAILED,
                                 reason=_failure(data, _wallet_name(charge, data))[1])
            return _refused(charge.reference, mode, response.status_code, _message(body))
        if mode == "card":
            link = data.get("authorization_url")
            if not link:
                raise ProviderUnavailable("Paystack made no checkout link")
            return Initiated(charge.reference, PENDING, redirect_url=link)
        return _charge_answer(charge, data)

    def reference_of(self, gateway: GatewayConfig, charge: Charge) -> str:
        return charge.reference

    # -- hearing back ---------------------------------------------------------------------------
    def callback_reference(self, callback: CallbackRequest) -> str | None:
        event, data = callback.body.get("event"), callback.body.get("data")
        if not isinstance(event, str) or not isinstance(data, dict):
            raise BadCallback("The webhook has no event or data.")
        if event != "charge.success":
            return None  # refunds, transfers, disputes...: not a payment we wait for
        reference = data.get("reference")
        if not isinstance(reference, str) or not reference:
            raise BadCallback("The webhook names no reference.")
        return reference

    def verify_callback(self, gateway: GatewayConfig, callback: CallbackRequest) -> bool:
        secret = gateway.secrets.get("secret_key", "")
        headers = {name.lower(): value for name, value in callback.headers.items()}
        signature = headers.get("x-paystack-signature", "")
        if not secret or not signature:
            return False
        # Over the raw bytes as they came: a re-serialised body would hash differently.
        expected = hmac.new(secret.encode(), callback.raw_body, hashlib.sha512).hexdigest()
        return hmac.compare_digest(signature.strip().lower().encode(), expected.encode())

    def parse_callback(self, env: ProviderEnv, gateway: GatewayConfig,
                       callback: CallbackRequest) -> Outcome | None:
        event, data = callback.body["event"], callback.body["data"]
        if event != "charge.success":
            return None
        if data.get("status") not in (None, "success") or not str(data.get("id", "")).isdigit():
            raise BadCallback("The webhook lacks the transaction id or says no success.")
        try:
            outcome = _outcome(data["reference"], {**data, "status": "success"}, "")
        except ProviderUnavailable as unreadable:  # Paystack sends it again: still unreadable
            raise BadCallback(str(unreadable)) from unreadable
        return Outcome(outcome.provider_reference, outcome.status, amount=outcome.amount,
                       receipt=outcome.receipt, dedup_key=f"{event}:{data['id']}")

    def acknowledge(self, outcome: Outcome | None) -> tuple[dict, int]:
        return {}, 200  # anything but a 200 is sent again, for up to 72 hours

    def query(self, env: ProviderEnv, gateway: GatewayConfig, provider_reference: str,
              charge: Charge) -> Outcome:
        response = send(env.http, "GET", f"/transaction/verify/{provider_reference}",
                        headers=_auth(gateway), retries=1)
        body = json_of(response)
        data = body.get("data")
        if response.status_code in (400, 404) and "not found" in _message(body).lower():
            return Outcome(provider_reference, PENDING)  # not there yet: wait, then expire
        if response.status_code != 200 or not isinstance(data, dict):
            raise ProviderUnavailable(f"verify answered {response.status_code}: "
                                      f"{_message(body)}")
        if data.get("reference") != provider_reference:
            raise ProviderUnavailable(f"verify for {provider_reference} answered for "
                                      f"{data.get('reference')!r}")
        return _outcome(provider_reference, data, _wallet_name(charge, data))

    # -- giving back ----------------------------------------------------------------------------
    def refund(self, env: ProviderEnv, gateway: GatewayConfig, payment: PaidPayment,
               amount: Money, reason: str) -> RefundOutcome:
        fields = {"transaction": payment.provider_reference, "amount": _subunits(amount)}
        if reason:
            fields["merchant_note"] = reason[:200]
        response = send(env.http, "POST", "/refund", json=fields, headers=_auth(gateway))
        body = json_of(response)
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        if response.status_code >= 400 or body.get("status") is not True:
            raise ProviderRefused(f"Paystack refused the refund: {_message(body)}",
                                  code=str(response.status_code))
        # "Refund has been queued for processing": Paystack settles it later.
        status = {"processed": SUCCEEDED, "failed": FAILED}.get(data.get("status"), PENDING)
        return RefundOutcome(status, provider_reference=str(data.get("id") or "") or None)


# -- the wire -----------------------------------------------------------------------------------
_SHOP_CANNOT = "This shop cannot take Paystack payments just now. Please pay another way."


def _auth(gateway: GatewayConfig) -> dict[str, str]:
    return {"Authorization": f"Bearer {gateway.secrets['secret_key']}"}


def _message(body: dict) -> str:
    return str(body.get("message") or "no message")[:200]


def _subunits(money: Money) -> int:
    """Our minor units as Paystack's subunits (KES 340.00: 34000 cents either way)."""
    decimals = SUBUNIT_DECIMALS.get(money.currency)
    if decimals is None:
        raise ProviderRefused(f"Paystack does not take {money.currency}. Please pay another way.",
                              code="currency")
    shift = decimals - minor_units(money.currency)
    return money.amount * 10 ** shift if shift >= 0 else money.amount // 10 ** -shift


def _money(subunits, currency) -> Money:
    """Paystack's subunit amount as Money; a fraction of our minor unit is cut off, so an
    underpayment can never round up to what we asked. A currency Paystack should not have
    used still comes back as itself, so the payment is flagged rather than misread."""
    try:
        if isinstance(subunits, bool) or not re.fullmatch(r"[A-Z]{3}", str(currency)):
            raise ValueError(currency)
        value, ours = int(str(subunits)), minor_units(str(currency))
    except (ValueError, TypeError, KeyError) as error:
        raise ProviderUnavailable(f"Paystack sent an unreadable amount {subunits!r} "
                                  f"{currency!r}") from error
    shift = SUBUNIT_DECIMALS.get(currency, 2) - ours
    return Money(value // 10 ** shift if shift >= 0 else value * 10 ** -shift, currency)


def _wallet(charge: Charge) -> tuple[str, str]:
    """(Paystack provider code, phone as Paystack wants it) for the shopper's number."""
    wallets = WALLETS.get(charge.amount.currency)
    try:
        number = phonenumbers.parse(charge.phone)
    except phonenumbers.NumberParseException:
        number = None
    if not wallets or number is None:
        raise ProviderRefused("Mobile money is not offered for this number. Please pay another "
                              "way.", code="wallet")
    found = wallets.get(carrier.name_for_number(number, "en"))
    if found is None:
        names = list(dict.fromkeys(name for _, name in wallets.values()))
        names = " or ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
        raise ProviderRefused(f"This number has no {names} wallet we can prompt. Please pay "
                              "another way.", code="wallet")
    if charge.amount.currency == "GHS":  # Paystack's Ghana samples use the local form
        phone = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        return found[0], re.sub(r"\D", "", phone)
    return found[0], charge.phone


def _charge_answer(charge: Charge, data: dict) -> Initiated:
    reference, status = charge.reference, data.get("status")
    if status in ("pay_offline", "pending"):  # the prompt is on the phone
        return Initiated(reference, PENDING)
    if status == "success":  # approved at once
        return Initiated(reference, SUCCEEDED)
    if status == "failed":
        return Initiated(reference, FAILED, reason=_failure(data, _wallet_name(charge, data))[1])
    if status == "open_url" and data.get("url"):  # a page to open: sent by SMS like a link
        return Initiated(reference, PENDING, redirect_url=data["url"])
    # send_otp (a voucher code), send_pin...: nothing a USSD or SMS shopper can type to us.
    log.info("paystack charge %s wants %r (%s): refused", reference, status,
             data.get("display_text"))
    raise ProviderRefused("Your wallet asks for a code we cannot take here. Please pay another "
                          "way.", code=str(status))


def _refused(reference: str, mode: str, status_code: int, message: str) -> Initiated:
    if status_code == 400 and "duplicate" in message.lower():
        if mode == "card":
            # An earlier try made the link but its answer was lost: nobody holds that link,
            # so no one can pay on it. Say so, and the shopper asks again (a new reference).
            log.info("paystack already has %s (%s); its link was lost", reference, message)
            return Initiated(reference, FAILED, reason="The payment link was not made.")
        # The prompt from an earlier try (whose answer timed out) is on the phone: wait for it.
        log.info("paystack already has %s (%s): waiting for it", reference, message)
        return Initiated(reference, PENDING)
    log.warning("paystack refused %s (%s): %s", reference, status_code, message)
    if status_code in (401, 403):
        raise ProviderRefused(_SHOP_CANNOT, code=str(status_code))
    raise ProviderRefused("The payment could not be started. Please check your number and try "
                          "again.", code=message)


def _outcome(reference: str, data: dict, wallet: str) -> Outcome:
    """What a transaction record (webhook or verify) says."""
    status = data.get("status")
    if status == "success":
        return Outcome(reference, SUCCEEDED, amount=_paid(data),
                       receipt=str(data.get("receipt_number") or reference))
    if status == "failed":
        settled, reason = _failure(data, wallet)
        return Outcome(reference, settled, reason=reason)
    if status == "reversed":
        return Outcome(reference, FAILED, reason="The payment was reversed.")
    if status not in WAITING:
        log.warning("paystack transaction %s has an unknown status %r", reference, status)
    return Outcome(reference, PENDING)


def _paid(data: dict) -> Money:
    """What the shop was paid. Where the shopper bore Paystack's fee, verify's ``amount`` adds
    it to ``requested_amount`` (what we asked for): the fee is not the shop's money."""
    paid = _money(data.get("amount"), data.get("currency"))
    requested = data.get("requested_amount")
    if isinstance(requested, int) and not isinstance(requested, bool):
        asked = _money(requested, data.get("currency"))
        if paid.amount >= asked.amount:
            return asked
    return paid


def _wallet_name(charge: Charge, data: dict) -> str:
    """"card", or the shopper's wallet as they call it ("M-Pesa"), for failure reasons."""
    if data.get("channel") == "card":
        return "card"
    try:
        network = carrier.name_for_number(phonenumbers.parse(charge.phone), "en")
    except phonenumbers.NumberParseException:
        network = ""
    found = WALLETS.get(charge.amount.currency, {}).get(network)
    return found[1] if found else "mobile money"


def _failure(data: dict, wallet: str) -> tuple[str, str]:
    """(status, plain reason) from Paystack's ``gateway_response`` (the bank's or wallet's
    own words: "Declined", "Insufficient Funds", "Transaction cancelled by user")."""
    said = str(data.get("gateway_response") or data.get("message") or "").strip()
    lowered = said.lower()
    if "cancel" in lowered or "declined by user" in lowered or "rejected by user" in lowered:
        where = "payment" if wallet == "card" else "prompt"
        return CANCELLED, f"You cancelled the {wallet} {where}."
    if "insufficient" in lowered or "balance" in lowered or "not enough" in lowered:
        where = "on your card" if wallet == "card" else f"in your {wallet} account"
        return FAILED, f"Not enough money {where}."
    if re.search(r"\bpin\b", lowered):
        return FAILED, "Wrong PIN."
    if "timeout" in lowered or "timed out" in lowered or "expired" in lowered:
        return EXPIRED, ("The card payment was not finished in time." if wallet == "card"
                         else "No answer came from your phone in time.")
    if said and len(said) <= 80 and lowered not in ("failed", "declined", "n/a"):
        return FAILED, said if said.endswith(".") else said + "."
    return FAILED, "The payment did not go through."


provider = register(Paystack())
