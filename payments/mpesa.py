"""M-Pesa through Safaricom's Daraja API: STK Push (the PIN prompt on the shopper's phone), its
callback, STK Push Query for reconciliation, and reversals for refunds.

A store's gateway settings:

- ``shortcode`` (required): the paybill number, or for a till the store (HO) number that the
  passkey belongs to. It is ``BusinessShortCode`` and goes into the password.
- ``till_number`` (optional): set for a Buy Goods till. The prompt then is
  ``CustomerBuyGoodsOnline`` with ``PartyB`` = the till; without it, ``CustomerPayBillOnline``
  with ``PartyB`` = the shortcode.

Secrets: ``consumer_key``, ``consumer_secret`` and ``passkey`` (required); ``initiator_name``
and ``security_credential`` (optional, only needed for refunds by reversal).

M-Pesa moves whole shillings only. A KES amount with cents is refused rather than rounded: a
rounded prompt would collect a different sum than the order owes. The same goes for a partial
refund: Daraja documents no partial reversal, so only the whole payment can be reversed.
"""
from __future__ import annotations

import base64
import hashlib
import logging
import time
from datetime import datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import httpx

from commerce.money import Money
from payments.base import (
    CANCELLED, EXPIRED, FAILED, PENDING, PROMPT, SUCCEEDED, BadCallback, CallbackRequest, Charge,
    GatewayConfig, Initiated, Outcome, PaidPayment, ProviderEnv, ProviderRefused,
    ProviderUnavailable, RefundOutcome,
)
from payments.http import json_of, no_answer
from payments.registry import register

log = logging.getLogger(__name__)

NAIROBI = ZoneInfo("Africa/Nairobi")  # Daraja's timestamps are Kenyan wall-clock time
TOKEN_PATH = "/oauth/v1/generate"
STK_PUSH_PATH = "/mpesa/stkpush/v1/processrequest"
STK_QUERY_PATH = "/mpesa/stkpushquery/v1/query"
REVERSAL_PATH = "/mpesa/reversal/v1/request"
INVALID_TOKEN = "404.001.03"
BUSY_CODE = "500.001.1001"  # "Unable to lock subscriber", "being processed", "Wrong credentials"
MIN_KES, MAX_KES = 1, 250_000  # per STK transaction

SETTINGS_PROBLEM = "This shop's M-Pesa settings are not working. Please pay another way."

# STK ResultCode -> (status, what the shopper is told)
RESULTS = {
    "1": (FAILED, "Not enough money in your M-Pesa account."),
    "2": (FAILED, "The amount is below the M-Pesa minimum."),
    "3": (FAILED, "The amount is above the M-Pesa limit for one payment."),
    "4": (FAILED, "This payment would pass your M-Pesa daily limit."),
    "17": (FAILED, "M-Pesa blocked a repeat of the same payment. Please wait 2 minutes."),
    "1019": (EXPIRED, "The M-Pesa prompt expired before you answered."),
    "1031": (CANCELLED, "You cancelled the M-Pesa prompt."),
    "1032": (CANCELLED, "You cancelled the M-Pesa prompt."),
    "1037": (EXPIRED, "M-Pesa could not reach your phone. Is it on, with signal?"),
    "2001": (FAILED, "Wrong PIN."),
}


def kes(amount: Money) -> int:
    """Whole shillings for the wire; refuses what M-Pesa cannot carry."""
    if amount.currency != "KES":
        raise ProviderRefused(f"M-Pesa takes Kenyan shillings only, not {amount.currency}.")
    shillings, cents = divmod(amount.amount, 100)
    if cents:
        raise ProviderRefused("M-Pesa takes whole shillings only; this amount has cents.")
    return shillings


def msisdn(phone: str) -> str:
    """``+254712345678`` → ``254712345678``, Daraja's ``2547XXXXXXXX``."""
    digits = phone.lstrip("+")
    if not (digits.startswith("254") and len(digits) == 12 and digits.isdigit()):
        raise ProviderRefused("M-Pesa needs a Kenyan phone number starting +254.")
    return digits


def timestamp() -> str:
    return datetime.now(NAIROBI).strftime("%Y%m%d%H%M%S")


def password(shortcode: str, passkey: str, when: str) -> str:
    return base64.b64encode(f"{shortcode}{passkey}{when}".encode()).decode()


def shillings_to_money(value) -> Money:
    """A callback's ``Amount`` (a JSON number like 340.00) as KES minor units."""
    try:
        minor = Decimal(str(value)).scaleb(2)
    except (InvalidOperation, ValueError) as problem:
        raise BadCallback(f"Amount {value!r} is not a number.") from problem
    if not minor.is_finite() or minor != minor.to_integral_value():
        raise BadCallback(f"Amount {value!r} is not a whole number of cents.")
    return Money(int(minor), "KES")


# -- talking to Daraja --------------------------------------------------------------------------
def _request(env: ProviderEnv, method: str, path: str, retries: int = 0,
             backoff: float = 0.5, **kwargs) -> httpx.Response:
    """Like ``payments.http.send`` but hands back 5xx answers too: Daraja puts meaning in them
    (500.001.1001 is "still being processed" on a query, "subscriber locked" on a push).
    Timeouts and network errors become ``ProviderUnavailable``; ``retries`` (for idempotent
    calls only) also cover a 5xx other than 500.001.1001."""
    for attempt in range(retries + 1):
        try:
            response = env.http.request(method, path, **kwargs)
        except httpx.TransportError as error:
            unanswered = no_answer(method, path, error)
        else:
            if response.status_code < 500 or attempt == retries or \
                    json_of(response).get("errorCode") == BUSY_CODE:
                return response
            unanswered = ProviderUnavailable(f"{method} {path} answered {response.status_code}")
        log.warning("M-Pesa: %s (try %d of %d)", unanswered, attempt + 1, retries + 1)
        if attempt < retries:
            time.sleep(backoff * 2 ** attempt)
    raise unanswered


def _token_key(env: ProviderEnv, gateway: GatewayConfig) -> str:
    # Per store and credential set (Daraja voids a key's old token when a new one is made);
    # hashed so the consumer key is not spelled out in Redis.
    digest = hashlib.sha256(f"{env.base_url}|{gateway.secrets.get('consumer_key', '')}"
                            .encode()).hexdigest()[:16]
    return f"mpesa:{gateway.store_id}:{digest}"


def _fetch_token(env: ProviderEnv, gateway: GatewayConfig) -> tuple[str, int]:
    response = _request(env, "GET", TOKEN_PATH, retries=1,
                        params={"grant_type": "client_credentials"},
                        auth=(gateway.secrets.get("consumer_key", ""),
                              gateway.secrets.get("consumer_secret", "")))
    data = json_of(response)
    if response.status_code >= 500:
        raise ProviderUnavailable(f"M-Pesa token: HTTP {response.status_code}")
    if response.status_code != 200 or not data.get("access_token"):
        log.warning("M-Pesa token refused for store %s: %s %s", gateway.store_id,
                    response.status_code, response.text[:200])
        raise ProviderRefused(SETTINGS_PROBLEM, str(data.get("errorCode", "")))
    expires_in = str(data.get("expires_in", ""))  # Daraja sends "3599", a string
    return data["access_token"], int(expires_in) if expires_in.isdigit() else 3599


def _call(env: ProviderEnv, gateway: GatewayConfig, path: str, body: dict,
          retries: int = 0) -> tuple[int, dict]:
    """POST ``body`` with a bearer token; a token Daraja no longer takes is fetched again
    once (another process may have made a new one, which voids ours)."""
    key = _token_key(env, gateway)

    def post() -> httpx.Response:
        token = env.tokens.get(key, lambda: _fetch_token(env, gateway), margin=60)
        return _request(env, "POST", path, retries=retries, json=body,
                        headers={"Authorization": f"Bearer {token}"})

    response = post()
    if json_of(response).get("errorCode") == INVALID_TOKEN:
        env.tokens.forget(key)
        response = post()
    return response.status_code, json_of(response)


def _refusal_or_outage(status: int, data: dict, what: str) -> Exception:
    """The error for a Daraja answer that is not an acceptance."""
    code, message = str(data.get("errorCode", "")), str(data.get("errorMessage", ""))
    log.warning("M-Pesa %s: HTTP %s %s %s", what, status, code, message)
    if code == BUSY_CODE and "lock" in message.lower():
        return ProviderRefused("A payment is already in process on your phone. "
                               "Please try again in a minute.", code)
    if code == BUSY_CODE or status in (401, 403):
        return ProviderRefused(SETTINGS_PROBLEM, code)  # wrong credentials, unknown merchant
    if status >= 500 or not data or code == INVALID_TOKEN:  # a fresh token voided: try later
        # Not Daraja's JSON: a gateway's page (a 504 gave up waiting for Daraja) or an answer
        # we cannot read, so the request may have been carried out.
        unread = not data and (status >= 500 or status == 200)
        return ProviderUnavailable(f"M-Pesa {what}: HTTP {status} {code} {message}",
                                   maybe_taken=unread)
    if "phone" in message.lower() or "party" in message.lower():
        return ProviderRefused("M-Pesa did not accept this phone number.", code)
    description = data.get("ResponseDescription") or message or "M-Pesa said no"
    return ProviderRefused(f"M-Pesa refused: {description}", code)


def _outcome(reference: str, code, description: str, **extra) -> Outcome:
    code = str(code).strip()
    if code == "0":
        return Outcome(reference, SUCCEEDED, **extra)
    status, reason = RESULTS.get(code, (FAILED, description or "M-Pesa did not take the payment."))
    return Outcome(reference, status, reason=reason, **extra)


class MpesaDaraja:
    name = "mpesa"
    label = "M-Pesa"
    signed = False
    pending_minutes = 5  # the prompt itself times out within about a minute
    repeat_safe = False  # no idempotency key: never pushed twice
    settings_fields: tuple[str, ...] = ("shortcode",)
    secret_fields: tuple[str, ...] = ("consumer_key", "consumer_secret", "passkey")
    # Not required; ``gateways.check_gateway`` must allow them (see the module's docstring).
    optional_settings_fields: tuple[str, ...] = ("till_number",)
    optional_secret_fields: tuple[str, ...] = ("initiator_name", "security_credential")

    def how_asked(self, settings, currency: str) -> str:
        return PROMPT

    def can_collect(self, settings, amount: Money) -> bool:
        try:
            kes(amount)
        except ProviderRefused:
            return False
        return True

    def _stamp(self, gateway: GatewayConfig) -> dict:
        shortcode = str(gateway.settings["shortcode"])
        when = timestamp()
        return {"BusinessShortCode": shortcode,
                "Password": password(shortcode, gateway.secrets["passkey"], when),
                "Timestamp": when}

    # -- asking for money -----------------------------------------------------------------------
    def initiate(self, env: ProviderEnv, gateway: GatewayConfig, charge: Charge) -> Initiated:
        amount, phone = kes(charge.amount), msisdn(charge.phone)
        if not MIN_KES <= amount <= MAX_KES:
            raise ProviderRefused(f"M-Pesa takes KSh {MIN_KES} to KSh {MAX_KES:,} at a time.")
        till = str(gateway.settings.get("till_number") or "").strip()
        body = {**self._stamp(gateway),
                "TransactionType": "CustomerBuyGoodsOnline" if till else "CustomerPayBillOnline",
                "Amount": amount, "PartyA": phone,
                "PartyB": till or str(gateway.settings["shortcode"]),
                "PhoneNumber": phone, "CallBackURL": gateway.callback_url,
                # Shown on the prompt: the order number (≤ 12), and a short description (≤ 13).
                "AccountReference": f"Order{charge.order_number}"[:12],
                "TransactionDesc": f"Order {charge.order_number}"[:13]}
        status, data = _call(env, gateway, STK_PUSH_PATH, body)
        if status == 200 and str(data.get("ResponseCode")) == "0" and data.get("CheckoutRequestID"):
            return Initiated(provider_reference=data["CheckoutRequestID"])
        raise _refusal_or_outage(status, data, "STK push")

    def reference_of(self, gateway: GatewayConfig, charge: Charge) -> str:
        return ""  # Daraja names the push (CheckoutRequestID) in its answer

    # -- hearing back ---------------------------------------------------------------------------
    def callback_reference(self, callback: CallbackRequest) -> str | None:
        stk = (callback.body.get("Body") or {}).get("stkCallback")
        return stk.get("CheckoutRequestID") if isinstance(stk, dict) else None

    def verify_callback(self, gateway: GatewayConfig, callback: CallbackRequest) -> bool:
        return True  # Daraja signs nothing: the secret token in the callback path names the store

    def parse_callback(self, env: ProviderEnv, gateway: GatewayConfig,
                       callback: CallbackRequest) -> Outcome | None:
        body = callback.body
        if "Result" in body:  # a reversal's result: refunds are settled by a person for now
            log.info("M-Pesa reversal result for store %s: %s", gateway.store_id,
                     str(body)[:500])
            return None
        stk = body.get("Body", {}).get("stkCallback") if isinstance(body.get("Body"), dict) \
            else None
        if not isinstance(stk, dict):
            raise BadCallback("The body has no Body.stkCallback.")
        reference, code = stk.get("CheckoutRequestID"), stk.get("ResultCode")
        if not isinstance(reference, str) or not reference or code is None:
            raise BadCallback("stkCallback lacks CheckoutRequestID or ResultCode.")
        items = (stk.get("CallbackMetadata") or {}).get("Item") or []
        if not isinstance(items, list):
            raise BadCallback("CallbackMetadata.Item is not a list.")
        # By name, not position; a Balance item may come without a Value.
        found = {item.get("Name"): item.get("Value") for item in items if isinstance(item, dict)}
        extra = {"dedup_key": f"stk:{reference}"}
        if str(code).strip() == "0":
            if found.get("Amount") is not None:
                extra["amount"] = shillings_to_money(found["Amount"])
            if found.get("MpesaReceiptNumber"):
                extra["receipt"] = str(found["MpesaReceiptNumber"])
            if str(found.get("PhoneNumber") or "").isdigit():  # 254712345678
                extra["payer"] = "+" + str(found["PhoneNumber"])
        return _outcome(reference, code, str(stk.get("ResultDesc") or ""), **extra)

    def acknowledge(self, outcome: Outcome | None) -> tuple[dict, int]:
        return {"ResultCode": 0, "ResultDesc": "Accepted"}, 200

    def query(self, env: ProviderEnv, gateway: GatewayConfig, provider_reference: str,
              charge: Charge) -> Outcome:
        body = {**self._stamp(gateway), "CheckoutRequestID": provider_reference}
        try:
            status, data = _call(env, gateway, STK_QUERY_PATH, body, retries=1)
        except ProviderRefused as refusal:  # credentials gone bad: the payment waits, logged
            raise ProviderUnavailable(f"M-Pesa query: {refusal.reason}") from refusal
        if status == 200 and data.get("ResultCode") is not None:
            return _outcome(provider_reference, data["ResultCode"],
                            str(data.get("ResultDesc") or ""))
        message = str(data.get("errorMessage", "")).lower()
        if data.get("errorCode") == BUSY_CODE and "being processed" in message:
            return Outcome(provider_reference, PENDING)  # the shopper has not answered yet
        raise ProviderUnavailable(f"M-Pesa query: HTTP {status} {data.get('errorCode', '')} "
                                  f"{data.get('errorMessage', '')}")

    # -- giving back ----------------------------------------------------------------------------
    def refund(self, env: ProviderEnv, gateway: GatewayConfig, payment: PaidPayment,
               amount: Money, reason: str) -> RefundOutcome:
        if amount != payment.amount:
            raise ProviderRefused("M-Pesa reverses whole payments only. Refund the full amount, "
                                  "or send part back by hand.")
        initiator = gateway.secrets.get("initiator_name")
        credential = gateway.secrets.get("security_credential")
        if not initiator or not credential:
            raise ProviderRefused("M-Pesa refunds need the shop's initiator name and security "
                                  "credential in its M-Pesa settings.")
        if not payment.receipt:
            raise ProviderRefused("This payment has no M-Pesa receipt to reverse.")
        body = {"Initiator": initiator, "SecurityCredential": credential,
                "CommandID": "TransactionReversal", "TransactionID": payment.receipt,
                "Amount": kes(amount), "ReceiverParty": str(gateway.settings["shortcode"]),
                "RecieverIdentifierType": "11",  # sic: Daraja's spelling
                "ResultURL": gateway.callback_url, "QueueTimeOutURL": gateway.callback_url,
                "Remarks": (reason or "Refund")[:100], "Occasion": ""}
        status, data = _call(env, gateway, REVERSAL_PATH, body)
        if status == 200 and str(data.get("ResponseCode")) == "0":
            return RefundOutcome(PENDING, provider_reference=data.get("ConversationID"))
        raise _refusal_or_outage(status, data, "reversal")


provider = register(MpesaDaraja())
