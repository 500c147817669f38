"""The demo's simulated M-Pesa: a pretend Daraja at ``/simulated/daraja``.

It answers the same endpoints as Daraja (OAuth token, STK Push, STK Push Query) in Daraja's
wire format, so the real ``payments.mpesa`` client runs against it unchanged; a few seconds
after a push it POSTs Daraja's documented success ``stkCallback`` (receipt ``SIM...``) to the
CallBackURL it was given, as if the shopper had typed their PIN.

It answers 404 unless ``payments.context.simulation_allowed()``: only the ``demo`` command turns
that on, so a live server never takes pretend money. A store's simulated gateway is sent here
with ``SETTINGS`` and ``SECRETS`` (``payments.jobs.provider_call``), which are Daraja's public
sandbox values.
"""
from __future__ import annotations

import base64
import logging
import secrets
import string
import threading
import time
import uuid
from collections import OrderedDict

import httpx
from flask import Blueprint, jsonify, request

from payments.context import simulation_allowed
from payments.mpesa import timestamp

log = logging.getLogger(__name__)

bp = Blueprint("simulated_mpesa", __name__, url_prefix="/simulated/daraja")

SETTINGS: dict = {"shortcode": "174379"}  # Daraja's sandbox paybill
SECRETS: dict = {
    "consumer_key": "simulated-consumer-key",
    "consumer_secret": "simulated-consumer-secret",
    "passkey": "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919",  # sandbox's
}
CALLBACK_DELAY_SECONDS = 3.0  # how long the pretend shopper takes to type their PIN
KEEP = 1000  # pushes remembered for status queries

_lock = threading.Lock()
_tokens: OrderedDict[str, float] = OrderedDict()
_pushes: OrderedDict[str, dict] = OrderedDict()  # CheckoutRequestID -> {"result": "0" | None}


def base_url(public_url: str) -> str:
    return public_url.rstrip("/") + "/simulated/daraja"


def _remember(table: OrderedDict, key: str, value) -> None:
    with _lock:
        table[key] = value
        while len(table) > KEEP:
            table.popitem(last=False)


def _error(status: int, code: str, message: str):
    return jsonify({"requestId": uuid.uuid4().hex[:20], "errorCode": code,
                    "errorMessage": message}), status


@bp.before_request
def only_on_a_demo_server():
    if not simulation_allowed():
        return _error(404, "404.001.01", "Resource not found")
    return None


def _authorised() -> bool:
    token = request.headers.get("Authorization", "").removeprefix("Bearer ")
    with _lock:
        return _tokens.get(token, 0) > time.monotonic()


def _body_with_password() -> tuple[dict | None, tuple | None]:
    if not _authorised():
        return None, _error(404, "404.001.03", "Invalid Access Token")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return None, _error(400, "400.002.02", "Bad Request - Invalid JSON")
    expected = base64.b64encode(f"{SETTINGS['shortcode']}{SECRETS['passkey']}"
                                f"{body.get('Timestamp', '')}".encode()).decode()
    if str(body.get("BusinessShortCode")) != SETTINGS["shortcode"] or \
            body.get("Password") != expected:
        return None, _error(500, "500.001.1001", "Wrong credentials")
    return body, None


@bp.get("/oauth/v1/generate")
def generate_token():
    expected = base64.b64encode(f"{SECRETS['consumer_key']}:{SECRETS['consumer_secret']}"
                                .encode()).decode()
    if request.args.get("grant_type") != "client_credentials":
        return _error(400, "400.008.02", "Invalid grant type passed")
    if request.headers.get("Authorization") != f"Basic {expected}":
        return _error(400, "400.008.01", "Invalid Authentication passed")
    token = secrets.token_hex(14)
    _remember(_tokens, token, time.monotonic() + 3599)
    return jsonify({"access_token": token, "expires_in": "3599"})


@bp.post("/mpesa/stkpush/v1/processrequest")
def stk_push():
    body, error = _body_with_password()
    if error:
        return error
    amount, callback_url = body.get("Amount"), body.get("CallBackURL")
    if not str(amount).isdigit() or int(amount) < 1:
        return _error(400, "400.002.02", "Bad Request - Invalid Amount")
    if not str(callback_url or "").startswith(("http://", "https://")):
        return _error(400, "400.002.02", "Bad Request - Invalid CallBackURL")
    checkout_id = f"ws_CO_SIM{uuid.uuid4().hex[:16]}"
    merchant_id = f"SIM-{uuid.uuid4().hex[:12]}"
    _remember(_pushes, checkout_id, {"result": None})
    threading.Thread(target=_pay_later, daemon=True, name="simulated-mpesa",
                     args=(checkout_id, merchant_id, int(amount), callback_url,
                           body.get("PhoneNumber"))).start()
    return jsonify({"MerchantRequestID": merchant_id, "CheckoutRequestID": checkout_id,
                    "ResponseCode": "0",
                    "ResponseDescription": "Success. Request accepted for processing",
                    "CustomerMessage": "Success. Request accepted for processing"})


@bp.post("/mpesa/stkpushquery/v1/query")
def stk_query():
    body, error = _body_with_password()
    if error:
        return error
    checkout_id = body.get("CheckoutRequestID")
    with _lock:
        push = _pushes.get(checkout_id)
    if push is None:
        return _error(400, "400.002.02", "Bad Request - Invalid CheckoutRequestID")
    if push["result"] is None:
        return _error(500, "500.001.1001", "The transaction is being processed")
    return jsonify({"ResponseCode": "0",
                    "ResponseDescription": "The service request has been accepted successsfully",
                    "MerchantRequestID": push["merchant_id"], "CheckoutRequestID": checkout_id,
                    "ResultCode": push["result"],
                    "ResultDesc": "The service request is processed successfully."})


def _pay_later(checkout_id: str, merchant_id: str, amount: int, callback_url: str,
               phone) -> None:
    """The pretend shopper types their PIN; Daraja tells the shop."""
    time.sleep(CALLBACK_DELAY_SECONDS)
    receipt = "SIM" + "".join(secrets.choice(string.ascii_uppercase + string.digits)
                              for _ in range(7))
    with _lock:
        if checkout_id in _pushes:
            _pushes[checkout_id] = {"result": "0", "merchant_id": merchant_id}
    body = {"Body": {"stkCallback": {
        "MerchantRequestID": merchant_id, "CheckoutRequestID": checkout_id, "ResultCode": 0,
        "ResultDesc": "The service request is processed successfully.",
        "CallbackMetadata": {"Item": [
            {"Name": "Amount", "Value": float(amount)},
            {"Name": "MpesaReceiptNumber", "Value": receipt},
            {"Name": "TransactionDate", "Value": int(timestamp())},
            {"Name": "PhoneNumber", "Value": int(phone) if str(phone).isdigit() else phone}]}}}}
    try:
        response = httpx.post(callback_url, json=body, timeout=10)
        log.info("simulated M-Pesa: paid %s (receipt %s), the shop answered %s", checkout_id,
                 receipt, response.status_code)
    except httpx.HTTPError as error:  # the shop can still learn of it by a status query
        log.warning("simulated M-Pesa: callback to %s failed: %s", callback_url, error)
