"""MTN MoMo through the MoMo Open API's Collection product: RequestToPay (the approval prompt
on the shopper's phone), its callback, the RequestToPay status for confirmation and
reconciliation, and refunds through the Disbursement product.

A store's gateway settings:

- ``api_user`` (required): the API User, a UUID (sandbox: made with ``POST /v1_0/apiuser``;
  production: from the MoMo partner portal).
- ``target_environment`` (required): ``X-Target-Environment``, ``sandbox`` or ``mtn<country>``
  such as ``mtnuganda``. The sandbox takes EUR only.

Secrets: ``api_key`` (the API User's key) and ``subscription_key`` (the Collection product's
``Ocp-Apim-Subscription-Key``). Refunds are a Disbursement product with its own API User and
subscription key, so they need the optional ``disbursement_api_user`` setting and the
``disbursement_api_key`` and ``disbursement_subscription_key`` secrets; without them a refund
is refused with a word to send the money back from the MoMo partner portal.

No double charge: MTN's idempotency key is ``X-Reference-Id`` (``externalId`` "need not be
unique"), and a retried job must send the same one, so it is not a fresh ``uuid4`` but is derived
from the API User and our per-payment ``externalId``: a SHA-256 of them, shaped as a version-4
UUID (MTN refuses references that are not UUIDv4 in form). A retry of a request MTN already took
is answered 409 ``RESOURCE_ALREADY_EXIST`` and read as "pending". The same derivation finds the
payment from a callback's ``externalId`` when, as reported, MTN leaves ``referenceId`` out.

Callbacks are unsigned: the path token names the store, and the callback's word is never taken;
the RequestToPay status (``GET``) is asked and its answer is what counts.

Amounts go out as a major-unit string in the currency's ISO exponent (``"12000"`` UGX,
``"12.50"`` EUR) and come back the same way.
"""
from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
import uuid
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation

import httpx

from commerce.money import Money, minor_units
from payments.base import (
    CANCELLED, EXPIRED, FAILED, PENDING, PROMPT, SUCCEEDED, BadCallback, CallbackRequest, Charge,
    GatewayConfig, Initiated, Outcome, PaidPayment, ProviderEnv, ProviderRefused,
    ProviderUnavailable, RefundOutcome,
)
from payments.http import json_of, no_answer, send
from payments.registry import register

log = logging.getLogger(__name__)

REQUEST_TO_PAY_PATH = "/collection/v1_0/requesttopay"
REFUND_PATH = "/disbursement/v1_0/refund"
SUBSCRIPTION_HEADER = "Ocp-Apim-Subscription-Key"
TOKEN_MARGIN = 600  # MTN's advice: refresh a token 10 minutes before it expires
NOTE_LIMIT = 160  # payerMessage and payeeNote; MTN refuses longer ones, and "&" or "'"
UNKNOWN_CURRENCY = "XXX"  # ISO 4217 "no currency": never matches a payment, so it is flagged

SETTINGS_PROBLEM = "This shop's MoMo settings are not working. Please pay another way."
NOT_TAKEN = "MoMo did not take the payment."

# Codes in MTN's error bodies that mean the shop's account or settings are wrong.
SETTINGS_CODES = {
    "NOT_ALLOWED", "NOT_ALLOWED_TARGET_ENVIRONMENT", "INVALID_CALLBACK_URL_HOST",
    "INVALID_CURRENCY", "PAYEE_NOT_FOUND", "PAYEE_NOT_ALLOWED_TO_RECEIVE", "FORBIDDEN",
}

# Codes in an error body that are the shopper's to fix (the rest: ours, or MTN's trouble).
PAYER_CODES = ("PAYER_NOT_FOUND", "NOT_ENOUGH_FUNDS", "PAYER_LIMIT_REACHED")

# A FAILED RequestToPay's reason -> (status, what the shopper is told).
REASONS = {
    "APPROVAL_REJECTED": (CANCELLED, "You declined the MoMo payment request."),
    "EXPIRED": (EXPIRED, "The MoMo request expired before you approved it."),
    # MTN: mostly the 5-minute approval window running out.
    "COULD_NOT_PERFORM_TRANSACTION": (EXPIRED, "The MoMo request expired before you approved it."),
    "NOT_ENOUGH_FUNDS": (FAILED, "Not enough money in your MoMo account."),
    # MTN: most often not enough money, too.
    "INTERNAL_PROCESSING_ERROR": (FAILED, "Not enough money in your MoMo account."),
    "PAYER_NOT_FOUND": (FAILED, "That number has no MoMo account."),
    "PAYER_LIMIT_REACHED": (FAILED, "This payment would pass your MoMo limit."),
    "SERVICE_UNAVAILABLE": (FAILED, "MoMo was not available. Please try again later."),
    **{code: (FAILED, SETTINGS_PROBLEM) for code in SETTINGS_CODES},
}


@dataclass(frozen=True)
class Account:
    """One MoMo product's credentials: Collection (to collect) or Disbursement (to refund)."""

    product: str  # "collection" | "disbursement": the token path's first part
    user: str
    key: str
    subscription: str
    environment: str


def collection_account(gateway: GatewayConfig) -> Account:
    return Account("collection", str(gateway.settings.get("api_user", "")),
                   gateway.secrets.get("api_key", ""), gateway.secrets.get("subscription_key", ""),
                   str(gateway.settings.get("target_environment", "")))


def disbursement_account(gateway: GatewayConfig) -> Account | None:
    account = Account("disbursement", str(gateway.settings.get("disbursement_api_user", "")),
                      gateway.secrets.get("disbursement_api_key", ""),
                      gateway.secrets.get("disbursement_subscription_key", ""),
                      str(gateway.settings.get("target_environment", "")))
    return account if account.user and account.key and account.subscription else None


# -- the wire's units ---------------------------------------------------------------------------
def major_units(amount: Money) -> str:
    """``Money(12000, "UGX")`` → ``"12000"``; ``Money(1250, "EUR")`` → ``"12.50"``;
    whole amounts carry no decimals (``"600"`` EUR, as in MTN's samples)."""
    places = minor_units(amount.currency)
    whole, part = divmod(amount.amount, 10 ** places)
    return f"{whole}.{part:0{places}d}" if part else str(whole)


def to_money(value, currency: str) -> Money:
    """A status body's ``amount`` (``"12000"``, ``"12.50"``) as minor units; ValueError if it
    is not a whole number of them."""
    try:
        minor = Decimal(str(value).strip()).scaleb(minor_units(currency))
    except (InvalidOperation, ValueError, TypeError) as problem:
        raise ValueError(f"amount {value!r} is not a number") from problem
    if not minor.is_finite() or minor != minor.to_integral_value():
        raise ValueError(f"amount {value!r} is not a whole number of {currency} minor units")
    return Money(int(minor), currency)


def msisdn(phone: str) -> str:
    """``+256772123456`` → ``256772123456``: E.164 without the plus, as MoMo's MSISDN."""
    digits = (phone or "").strip().removeprefix("+")
    if not (digits.isdigit() and 8 <= len(digits) <= 15):
        raise ProviderRefused("MoMo needs the phone number with its country code, "
                              "like +256772123456.")
    return digits


def note(text: str) -> str:
    """A payerMessage or payeeNote MTN accepts: plain ASCII letters, digits and a little
    punctuation ("&" and apostrophes get the request refused), at most 160 characters."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    cleaned = " ".join(re.sub(r"[^A-Za-z0-9 .,:#()/-]+", " ", plain).split())
    return cleaned[:NOTE_LIMIT].strip() or "Payment"


def reference_id(api_user: str, external_id: str) -> str:
    """The ``X-Reference-Id`` for a payment: the same for every retry of it (see the module's
    docstring), different for every payment, in UUIDv4 form."""
    digest = hashlib.sha256(f"duka-momo|{api_user}|{external_id}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def canonical_uuid(value) -> str | None:
    try:
        return str(uuid.UUID(str(value).strip()))
    except ValueError:
        return None


# -- talking to MoMo ----------------------------------------------------------------------------
def _send_money_request(env: ProviderEnv, path: str, **kwargs) -> httpx.Response:
    """One POST that asks for (or gives back) money. Unlike ``payments.http.send`` it hands
    back 5xx answers too: MoMo names refusals in them (500 ``INVALID_CURRENCY``,
    ``NOT_ALLOWED_TARGET_ENVIRONMENT``). Never retried here: the job retries, with the same
    ``X-Reference-Id``. Timeouts and network errors become ``ProviderUnavailable``."""
    try:
        return env.http.request("POST", path, **kwargs)
    except httpx.TransportError as error:
        unanswered = no_answer("POST", path, error)
    log.warning("MoMo: %s", unanswered)
    raise unanswered


def _token_key(env: ProviderEnv, store_id: int, account: Account) -> str:
    # Per store, product and API User; hashed so the user id is not spelled out in Redis.
    digest = hashlib.sha256(f"{env.base_url}|{account.product}|{account.user}".encode())
    return f"momo:{store_id}:{account.product}:{digest.hexdigest()[:16]}"


def _fetch_token(env: ProviderEnv, store_id: int, account: Account) -> tuple[str, int]:
    response = send(env.http, "POST", f"/{account.product}/token/", retries=1,
                    auth=(account.user, account.key),
                    headers={SUBSCRIPTION_HEADER: account.subscription})
    data = json_of(response)
    try:
        expires_in = int(data.get("expires_in") or 3600)
    except (TypeError, ValueError):
        expires_in = 3600
    if response.status_code != 200 or not data.get("access_token"):
        log.warning("MoMo %s token refused for store %s: %s %s", account.product, store_id,
                    response.status_code, response.text[:200])
        raise ProviderRefused(SETTINGS_PROBLEM, str(response.status_code))
    return str(data["access_token"]), expires_in


def _call(env: ProviderEnv, store_id: int, account: Account, method: str, path: str,
          headers: dict | None = None, moves_money: bool = False, **kwargs) -> httpx.Response:
    """A call with a cached bearer token. A 401 gets one fresh token and one more try: the
    cached one may have been revoked (a 401 is never processed, so a money request is safe to
    repeat, with the same reference)."""
    key = _token_key(env, store_id, account)
    for attempt in range(2):
        token = env.tokens.get(key, lambda: _fetch_token(env, store_id, account),
                               margin=TOKEN_MARGIN)
        all_headers = {"Authorization": f"Bearer {token}",
                       SUBSCRIPTION_HEADER: account.subscription,
                       "X-Target-Environment": account.environment, **(headers or {})}
        if moves_money:
            response = _send_money_request(env, path, headers=all_headers, **kwargs)
        else:  # reads are idempotent: a quick retry on a timeout or 5xx
            response = send(env.http, method, path, retries=1, headers=all_headers, **kwargs)
        if response.status_code == 401 and attempt == 0:
            env.tokens.forget(key)
            continue
        return response
    return response


def _error_code(data: dict) -> str:
    return str(data.get("code") or "").strip().upper()


def _refusal_or_outage(status: int, data: dict, what: str) -> Exception:
    """The error for a MoMo answer that is not an acceptance."""
    code, message = _error_code(data), str(data.get("message") or "")
    log.warning("MoMo %s: HTTP %s %s %s", what, status, code, message[:200])
    if code in SETTINGS_CODES or status in (401, 403, 404):
        return ProviderRefused(SETTINGS_PROBLEM, code or str(status))
    if code in PAYER_CODES:
        return ProviderRefused(REASONS[code][1], code)
    if status >= 500:  # a gateway's page, not MoMo's JSON: it may have been carried out
        return ProviderUnavailable(f"MoMo {what}: HTTP {status} {code} {message[:200]}",
                                   maybe_taken=not data)
    return ProviderRefused("MoMo could not take this payment request. Please pay another way.",
                           code or str(status))


def _reason_code(reason) -> str:
    # A plain string in the current API ("NOT_ENOUGH_FUNDS"); {"code", "message"} in older ones.
    if isinstance(reason, dict):
        reason = reason.get("code")
    return str(reason or "").strip().upper()


def _paid(data: dict, currency: str) -> Money:
    """What a SUCCESSFUL status says was paid. An amount we cannot read becomes zero, which
    never matches the payment, so the service flags it for a person instead of applying it."""
    currency = str(data.get("currency") or currency).strip().upper()
    try:
        return to_money(data.get("amount"), currency)
    except ValueError as problem:
        log.warning("MoMo status with an unreadable amount: %s", problem)
        try:
            return Money(0, currency)
        except ValueError:
            return Money(0, UNKNOWN_CURRENCY)


def _outcome(reference: str, data: dict, currency: str) -> Outcome:
    status = str(data.get("status") or "").strip().upper()
    if status == "SUCCESSFUL":
        receipt = data.get("financialTransactionId")
        return Outcome(reference, SUCCEEDED, amount=_paid(data, currency),
                       receipt=str(receipt) if receipt else None)
    if status == "FAILED":
        state, reason = REASONS.get(_reason_code(data.get("reason")), (FAILED, NOT_TAKEN))
        return Outcome(reference, state, reason=reason)
    if status != "PENDING":
        log.warning("MoMo status %r for %s read as pending", status, reference)
    return Outcome(reference, PENDING)


def _header(headers, name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in (headers or {}).items() if key.lower() == wanted), None)


class MtnMomo:
    name = "momo"
    label = "MTN MoMo"
    signed = False
    pending_minutes = 10  # MTN's 5-minute approval window, and slack for a late answer
    repeat_safe = True  # our reference is its idempotency key
    settings_fields: tuple[str, ...] = ("api_user", "target_environment")
    secret_fields: tuple[str, ...] = ("api_key", "subscription_key")
    # Not required (refunds only); ``gateways.check_gateway`` must allow them.
    optional_settings_fields: tuple[str, ...] = ("disbursement_api_user",)
    optional_secret_fields: tuple[str, ...] = ("disbursement_api_key",
                                               "disbursement_subscription_key")

    def how_asked(self, settings, currency: str) -> str:
        return PROMPT

    def can_collect(self, settings, amount: Money) -> bool:
        return True

    # -- asking for money -----------------------------------------------------------------------
    def initiate(self, env: ProviderEnv, gateway: GatewayConfig, charge: Charge) -> Initiated:
        account = collection_account(gateway)
        reference = self.reference_of(gateway, charge)
        body = {"amount": major_units(charge.amount), "currency": charge.amount.currency,
                "externalId": charge.reference,
                "payer": {"partyIdType": "MSISDN", "partyId": msisdn(charge.phone)},
                # Shown to the shopper on the prompt and in their MoMo history.
                "payerMessage": note(f"{charge.store_name} order {charge.order_number}"),
                "payeeNote": note(f"Duka order {charge.order_number} payment "
                                  f"{charge.payment_id}")}
        response = _call(env, gateway.store_id, account, "POST", REQUEST_TO_PAY_PATH,
                         moves_money=True, json=body,
                         headers={"X-Reference-Id": reference,
                                  "X-Callback-Url": gateway.callback_url})
        if response.status_code == 202:
            return Initiated(provider_reference=reference)
        data = json_of(response)
        if response.status_code == 409 and _error_code(data) == "RESOURCE_ALREADY_EXIST":
            # An earlier try of this very payment reached MTN (its answer was lost): the
            # prompt is out already, so wait for it rather than ask again.
            log.info("MoMo request to pay %s already made; waiting for it", reference)
            return Initiated(provider_reference=reference)
        raise _refusal_or_outage(response.status_code, data, "request to pay")

    def reference_of(self, gateway: GatewayConfig, charge: Charge) -> str:
        return reference_id(collection_account(gateway).user, charge.reference)

    # -- hearing back ---------------------------------------------------------------------------
    def callback_reference(self, callback: CallbackRequest) -> str | None:
        named = callback.body.get("referenceId") or _header(callback.headers, "X-Reference-Id")
        return canonical_uuid(named) if named else None

    def verify_callback(self, gateway: GatewayConfig, callback: CallbackRequest) -> bool:
        return True  # MoMo signs nothing: the path token names the store, GET confirms

    def _reference_of(self, gateway: GatewayConfig, callback: CallbackRequest) -> str:
        body = callback.body
        named = body.get("referenceId") or _header(callback.headers, "X-Reference-Id")
        if named:
            reference = canonical_uuid(named)
            if reference is None:
                raise BadCallback(f"referenceId {str(named)[:60]!r} is not a UUID.")
            return reference
        external_id = body.get("externalId")
        if isinstance(external_id, str) and external_id.strip():
            return reference_id(collection_account(gateway).user, external_id.strip())
        raise BadCallback("The callback names no referenceId or externalId.")

    def parse_callback(self, env: ProviderEnv, gateway: GatewayConfig,
                       callback: CallbackRequest) -> Outcome | None:
        reference = self._reference_of(gateway, callback)
        # Anyone can post to a URL: believe MTN's status endpoint, not the body.
        try:
            response = _call(env, gateway.store_id, collection_account(gateway), "GET",
                             f"{REQUEST_TO_PAY_PATH}/{reference}")
        except (ProviderUnavailable, ProviderRefused) as problem:
            log.warning("MoMo callback for %s not confirmed (%s); reconciliation will ask",
                        reference, problem)
            return None
        if response.status_code != 200:
            # 404: not a request this store's MoMo account made.
            log.warning("MoMo callback for %s: status answered %s; ignored", reference,
                        response.status_code)
            return None
        data = json_of(response)
        outcome = _outcome(reference, data, UNKNOWN_CURRENCY)
        status = str(data.get("status") or "").strip().upper() or "UNKNOWN"
        return replace(outcome, dedup_key=f"{reference}:{status}")

    def acknowledge(self, outcome: Outcome | None) -> tuple[dict, int]:
        return {}, 200

    def query(self, env: ProviderEnv, gateway: GatewayConfig, provider_reference: str,
              charge: Charge) -> Outcome:
        try:
            response = _call(env, gateway.store_id, collection_account(gateway), "GET",
                             f"{REQUEST_TO_PAY_PATH}/{provider_reference}")
        except ProviderRefused as refusal:  # credentials gone bad: the payment waits, logged
            raise ProviderUnavailable(f"MoMo status: {refusal.reason}") from refusal
        if response.status_code == 404:
            # MTN accepted it (we hold its reference), so this is a lag or a mix-up: wait, and
            # let the payment expire if it never shows.
            log.warning("MoMo status: %s not found", provider_reference)
            return Outcome(provider_reference, PENDING)
        if response.status_code != 200:
            raise ProviderUnavailable(f"MoMo status: HTTP {response.status_code} "
                                      f"{response.text[:200]}")
        return _outcome(provider_reference, json_of(response), charge.amount.currency)

    # -- giving back ----------------------------------------------------------------------------
    def refund(self, env: ProviderEnv, gateway: GatewayConfig, payment: PaidPayment,
               amount: Money, reason: str) -> RefundOutcome:
        account = disbursement_account(gateway)
        if account is None:
            raise ProviderRefused("MoMo refunds need this shop's MoMo Disbursement account in "
                                  "its settings. Send the money back from the MoMo portal.")
        if not payment.provider_reference:
            raise ProviderRefused("This payment has no MoMo reference to refund.")
        # A refund is asked once (the service never retries it), so a fresh reference.
        reference = str(uuid.uuid4())
        body = {"amount": major_units(amount), "currency": amount.currency,
                "externalId": f"DK-refund-{payment.payment_id}",
                "payerMessage": note(reason or "Refund"),
                "payeeNote": note(f"Refund of payment {payment.payment_id}"),
                "referenceIdToRefund": payment.provider_reference}
        response = _call(env, gateway.store_id, account, "POST", REFUND_PATH, moves_money=True,
                         json=body, headers={"X-Reference-Id": reference})
        if response.status_code != 202:
            raise _refusal_or_outage(response.status_code, json_of(response), "refund")
        # MoMo settles refunds in the background; one look now usually saves the merchant a wait.
        try:
            check = _call(env, gateway.store_id, account, "GET", f"{REFUND_PATH}/{reference}")
        except (ProviderUnavailable, ProviderRefused) as problem:
            log.warning("MoMo refund %s accepted; status unknown: %s", reference, problem)
            return RefundOutcome(PENDING, provider_reference=reference)
        data = json_of(check) if check.status_code == 200 else {}
        status = str(data.get("status") or "").strip().upper()
        if status == "SUCCESSFUL":
            return RefundOutcome(SUCCEEDED, provider_reference=reference)
        if status == "FAILED":
            code = _reason_code(data.get("reason"))
            return RefundOutcome(FAILED, provider_reference=reference,
                                 reason=f"MoMo did not make the refund ({code or 'no reason'}).")
        return RefundOutcome(PENDING, provider_reference=reference)


provider = register(MtnMomo())
