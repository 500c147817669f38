"""A local stand-in for Flutterwave's v3 API, answering in its documented shapes.

Served under ``/v3`` (so ``FLUTTERWAVE_BASE_URL`` is ``<url>/v3`` as in production):

- ``POST /v3/charges?type=mpesa|mobile_money_ghana|...``: a mobile-money prompt; answers
  ``{"status": "success", "message": "Charge initiated", "data": {...}, "meta": {"authorization":
  {"mode": "callback"|"redirect", ...}}}``.
- ``POST /v3/payments`` (Standard): a hosted checkout link, ``{"data": {"link": ...}}``.
- ``GET /v3/transactions/{id}/verify`` and ``GET /v3/transactions/verify_by_reference?tx_ref=``.
- ``POST /v3/transactions/{id}/refund`` with an optional ``amount``.

Every call needs ``Authorization: Bearer <secret key>`` (401 otherwise). A ``tx_ref`` is taken
the moment a request for it arrives, so a retry after a timeout is refused as a duplicate, as
Flutterwave does. Amounts are major units (``340.5``), kept here as exact Decimals. A test
settles a payment with ``complete(tx_ref, ...)``, which also POSTs the ``charge.completed``
webhook to ``webhook_url`` with the ``verif-hash`` header (or a ``flutterwave-signature``).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
import uuid
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.fakes.server import LocalHttpServer

CHARGE_TYPES = {  # type → (currencies, payment_type Flutterwave reports, authorization mode)
    "mpesa": ({"KES"}, "mpesa", "callback"),
    "mobile_money_ghana": ({"GHS"}, "mobilemoneygh", "redirect"),
    "mobile_money_uganda": ({"UGX"}, "mobilemoneyug", "redirect"),
    "mobile_money_rwanda": ({"RWF"}, "mobilemoneyrw", "redirect"),
    "mobile_money_zambia": ({"ZMW"}, "mobilemoneyzm", "redirect"),
    "mobile_money_tanzania": ({"TZS"}, "mobilemoneytz", "callback"),
    "mobile_money_franco": ({"XAF", "XOF"}, "mobilemoneysn", "callback"),
}
NOT_FOUND = "No transaction was found for this id"
DUPLICATE = "Duplicate transaction reference. Please use a unique tx_ref"


def _dumps(body) -> bytes:
    return json.dumps(body, default=lambda value: float(value) if isinstance(value, Decimal)
                      else str(value)).encode()


class FakeFlutterwave(LocalHttpServer):
    url_path = "/v3"  # the API version: url ends in it

    def __init__(self, secret_key: str = "FLWSECK_TEST-duka0fake0key-X",
                 secret_hash: str = "duka-fake-secret-hash"):
        self.secret_key = secret_key
        self.secret_hash = secret_hash
        self.webhook_url: str | None = None
        self.requests: list[dict] = []  # every request: method, path, query, body, raw
        self.transactions: dict[int, dict] = {}  # id → the record verify answers with
        self.checkouts: dict[str, dict] = {}  # tx_ref → a Standard payment's details
        self.refunds: list[dict] = []
        self.taken: set[str] = set()  # tx_refs asked for, even by a request that timed out
        self.fail_next = 0  # answer this many requests with HTTP 500 (and do nothing)
        self.hang_next = 0  # take this many requests, then answer only after hang_seconds
        self.hang_seconds = 2.5
        self.refund_status = "completed"
        self._ids = itertools.count(4193428)
        self._lock = threading.Lock()
        self._listen(self._handler())

    def calls(self, method: str, path_start: str) -> list[dict]:
        return [r for r in self.requests
                if r["method"] == method and r["path"].startswith(path_start)]

    # -- what happens at Flutterwave's end ------------------------------------------------------
    def latest(self, tx_ref: str) -> dict | None:
        found = [t for t in self.transactions.values() if t["tx_ref"] == tx_ref]
        return found[-1] if found else None

    def settle(self, tx_ref: str, status: str, amount: Decimal | None = None,
               processor_response: str | None = None, new_attempt: bool = False) -> dict:
        """The shopper answered (mobile money) or paid on the checkout page (Standard)."""
        with self._lock:
            record = None if new_attempt else self.latest(tx_ref)
            if record is None:
                checkout = self.checkouts.get(tx_ref) or dict(self.latest(tx_ref) or {})
                record = self._record(tx_ref, checkout["amount"], checkout["currency"],
                                      checkout.get("payment_type", "card"),
                                      checkout.get("email"), checkout.get("phone"))
            record["status"] = status
            if amount is not None:
                record["amount"] = record["charged_amount"] = amount
            record["processor_response"] = processor_response or (
                "Approved" if status == "successful" else "Declined")
            return dict(record)

    def complete(self, tx_ref: str, status: str = "successful", amount: Decimal | None = None,
                 processor_response: str | None = None, sign: str | dict = "hash",
                 webhook_status: str | None = None, new_attempt: bool = False
                 ) -> httpx.Response:
        """Settle ``tx_ref`` and send the ``charge.completed`` webhook; returns our answer.
        ``webhook_status`` makes the webhook say something else than verify will."""
        record = self.settle(tx_ref, status, amount, processor_response, new_attempt)
        if webhook_status:
            record["status"] = webhook_status
        return self.send_webhook(self.webhook_body(record), sign)

    def webhook_body(self, record: dict) -> dict:
        data = {key: value for key, value in record.items() if key not in ("refunded",)}
        body = {"event": "charge.completed", "data": data}
        if record["payment_type"] == "card":
            body["event.type"] = "CARD_TRANSACTION"
        return body

    def send_webhook(self, body, sign: str | dict = "hash") -> httpx.Response:
        raw = body if isinstance(body, bytes) else _dumps(body)
        headers = {"Content-Type": "application/json"}
        if sign == "hash":
            headers["verif-hash"] = self.secret_hash
        elif sign == "signature":
            digest = hmac.new(self.secret_hash.encode(), raw, hashlib.sha256).digest()
            headers["flutterwave-signature"] = base64.b64encode(digest).decode()
        elif isinstance(sign, dict):
            headers.update(sign)
        return httpx.post(self.webhook_url, content=raw, headers=headers, timeout=10)

    def _record(self, tx_ref, amount, currency, payment_type, email, phone) -> dict:
        transaction_id = next(self._ids)
        record = {
            "id": transaction_id, "tx_ref": tx_ref, "flw_ref": f"FLW-MOCK-{uuid.uuid4().hex[:12]}",
            "device_fingerprint": "N/A", "amount": amount, "currency": currency,
            "charged_amount": amount,
            "app_fee": (amount * Decimal("0.014")).quantize(Decimal("0.01")), "merchant_fee": 0,
            "processor_response": "Transaction in progress",
            "auth_model": "LIPA_MPESA" if payment_type == "mpesa" else "AUTH",
            "ip": "::ffff:127.0.0.1", "narration": "Duka", "status": "pending",
            "payment_type": payment_type, "fraud_status": "ok", "charge_type": "normal",
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "account_id": 20937, "refunded": Decimal(0),
            "customer": {"id": 1998111, "phone_number": phone, "name": "Anonymous customer",
                         "email": email, "created_at": "2024-01-01T00:00:00.000Z"},
        }
        self.transactions[transaction_id] = record
        return record

    # -- the API ----------------------------------------------------------------------------------
    def _handle(self, method: str, path: str, query: dict, body) -> tuple[int, dict]:
        if path == "/v3/charges" and method == "POST":
            return self._charge(query.get("type", ""), body)
        if path == "/v3/payments" and method == "POST":
            return self._standard(body)
        if path == "/v3/transactions/verify_by_reference" and method == "GET":
            record = self.latest(query.get("tx_ref", ""))
            return self._fetched(record)
        parts = path.split("/")  # "", "v3", "transactions", id, verb
        if len(parts) == 5 and parts[2] == "transactions" and parts[3].isdigit():
            record = self.transactions.get(int(parts[3]))
            if parts[4] == "verify" and method == "GET":
                return self._fetched(record)
            if parts[4] == "refund" and method == "POST":
                return self._refund(record, body)
        return 404, {"status": "error", "message": "Route not found", "data": None}

    @staticmethod
    def _error(message: str, status: int = 400) -> tuple[int, dict]:
        return status, {"status": "error", "message": message, "data": None}

    def _fetched(self, record: dict | None) -> tuple[int, dict]:
        if record is None:
            return self._error(NOT_FOUND)
        data = {key: value for key, value in record.items() if key != "refunded"}
        return 200, {"status": "success", "message": "Transaction fetched successfully",
                     "data": data}

    def _check_amount(self, body: dict) -> str | None:
        amount = body.get("amount")
        if amount is None:
            return "amount is required"
        if isinstance(amount, bool) or not isinstance(amount, (int, Decimal)) or amount <= 0:
            return "Invalid amount"
        return None

    def _charge(self, charge_type: str, body: dict) -> tuple[int, dict]:
        if charge_type not in CHARGE_TYPES:
            return self._error("Invalid charge type")
        for field in ("tx_ref", "currency", "email", "phone_number"):
            if not body.get(field):
                return self._error(f"{field} is required")
        problem = self._check_amount(body)
        if problem:
            return self._error(problem)
        currencies, payment_type, mode = CHARGE_TYPES[charge_type]
        if body["currency"] not in currencies:
            return self._error(f"Invalid currency {body['currency']} for {charge_type}")
        if charge_type == "mobile_money_franco" and not body.get("country"):
            return self._error("country is required")
        if body["tx_ref"] in self.taken:
            return self._error(DUPLICATE)
        self.taken.add(body["tx_ref"])
        record = self._record(body["tx_ref"], Decimal(body["amount"]), body["currency"],
                              payment_type, body["email"], body["phone_number"])
        data = {key: value for key, value in record.items() if key != "refunded"}
        if mode == "redirect":
            return 200, {"status": "success", "message": "Charge initiated", "meta": {
                "authorization": {"redirect": f"https://ravemodal-dev.herokuapp.com/captcha/"
                                              f"verify/{record['id']}:{uuid.uuid4().hex}",
                                  "mode": "redirect"}}}
        return 200, {"status": "success", "message": "Charge initiated", "data": data,
                     "meta": {"authorization": {"mode": "callback", "redirect_url": None}}}

    def _standard(self, body: dict) -> tuple[int, dict]:
        customer = body.get("customer") if isinstance(body.get("customer"), dict) else {}
        if not body.get("tx_ref"):
            return self._error("tx_ref is required")
        if not customer.get("email"):
            return self._error("customer.email is required")
        problem = self._check_amount(body)
        if problem:
            return self._error(problem)
        if body["tx_ref"] in self.taken:
            return self._error(DUPLICATE)
        self.taken.add(body["tx_ref"])
        link = f"https://checkout.flutterwave.com/v3/hosted/pay/{uuid.uuid4().hex[:20]}"
        self.checkouts[body["tx_ref"]] = {
            "amount": Decimal(body["amount"]), "currency": body.get("currency") or "NGN",
            "email": customer["email"], "phone": customer.get("phonenumber"), "link": link,
            "payment_type": "card"}
        return 200, {"status": "success", "message": "Hosted Link", "data": {"link": link}}

    def _refund(self, record: dict | None, body: dict) -> tuple[int, dict]:
        if record is None:
            return self._error(NOT_FOUND)
        if record["status"] != "successful":
            return self._error("Only successful transactions can be refunded")
        left = record["amount"] - record["refunded"]
        if left <= 0:
            return self._error("Transaction has been fully refunded")
        if "amount" in body:
            problem = self._check_amount(body)
            if problem:
                return self._error(problem)
            amount = Decimal(body["amount"])
        else:
            amount = left
        if amount > left:
            return self._error("Refund amount cannot be greater than the amount left to refund")
        record["refunded"] += amount
        refund = {"id": 8612 + len(self.refunds), "account_id": 20937, "tx_id": record["id"],
                  "flw_ref": record["flw_ref"], "wallet_id": 74639, "amount_refunded": amount,
                  "status": self.refund_status, "destination": "payment_source",
                  "meta": {"source": "availablebalance"},
                  "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())}
        self.refunds.append(refund)
        return 200, {"status": "success", "message": "Transaction refund initiated",
                     "data": refund}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _send(self, status: int, body: dict) -> None:
                data = _dumps(body)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the caller gave up waiting
                    pass

            def _serve(self, method: str) -> None:
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                try:
                    body = json.loads(raw, parse_float=Decimal) if raw else {}
                except ValueError:
                    return self._send(400, {"status": "error", "message": "Invalid JSON",
                                            "data": None})
                hang = False
                with fake._lock:
                    fake.requests.append({"method": method, "path": url.path, "query": query,
                                          "body": body, "raw": raw.decode()})
                    if self.headers.get("Authorization") != f"Bearer {fake.secret_key}":
                        return self._send(401, {"status": "error",
                                                "message": "Invalid authorization key",
                                                "data": None})
                    if fake.fail_next > 0:
                        fake.fail_next -= 1
                        return self._send(500, {"status": "error", "message": "An error "
                                                "occurred. Please contact support",
                                                "data": None})
                    if not isinstance(body, dict):
                        return self._send(400, {"status": "error", "message": "Invalid body",
                                                "data": None})
                    status, answer = fake._handle(method, url.path, query, body)
                    if fake.hang_next > 0:
                        fake.hang_next -= 1
                        hang = True
                if hang:  # done at Flutterwave's end, but the answer comes too late
                    time.sleep(fake.hang_seconds)
                self._send(status, answer)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

        return Handler
