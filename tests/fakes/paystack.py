"""A local stand-in for Paystack's API, answering in its documented shapes.

- ``POST /charge`` with ``mobile_money: {phone, provider}``: ``{"status": true, "message":
  "Charge attempted", "data": {"reference", "status": "pay_offline" | "send_otp" | "success" |
  "failed", ...}}`` (what it answers is set per test in ``charge_status``).
- ``POST /transaction/initialize``: ``{"data": {"authorization_url", "access_code",
  "reference"}}``; the transaction is ``abandoned`` until the shopper pays on the page.
- ``GET /transaction/verify/{reference}``: ``"Verification successful"`` and the record.
- ``POST /refund`` with ``transaction`` (reference or id) and an optional ``amount``:
  ``"Refund has been queued for processing"``, ``data.status: "pending"``.

Every call needs ``Authorization: Bearer <secret key>`` of an account added with
``add_account`` (401 ``"Invalid key"`` otherwise); each account sees only its own transactions.
Errors are ``{"status": false, "message": ...}`` with Paystack's wording where its error list
gives one. A reference is taken the moment a request for it arrives, so a retry after a
timeout is refused as a duplicate, as Paystack does. Amounts are integer subunits.

A test settles a transaction with ``settle`` (what verify will say) or ``complete`` (also
POSTs the ``charge.success`` webhook to ``webhook_url``, signed as Paystack signs: the hex
HMAC-SHA512 of the exact body bytes, keyed with the account's secret key, in
``x-paystack-signature``).
"""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

import httpx

from tests.fakes.server import LocalHttpServer, send_gateway_page

CURRENCIES = {"NGN", "GHS", "KES", "ZAR", "USD"}
MOBILE_MONEY = {"KES": {"mpesa", "mpesa_offline", "mptill"}, "GHS": {"mtn", "vod", "atl"}}
PHONES = {"KES": re.compile(r"^\+?254\d{9}$"), "GHS": re.compile(r"^0\d{9}$")}
CHANNELS = {"card", "bank", "ussd", "qr", "mobile_money", "bank_transfer", "eft", "apple_pay"}
REFERENCE = re.compile(r"^[A-Za-z0-9.=-]+$")
NOT_FOUND = "Transaction reference not found"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def signature(raw: bytes, secret_key: str) -> str:
    return hmac.new(secret_key.encode(), raw, hashlib.sha512).hexdigest()


class FakePaystack(LocalHttpServer):
    def __init__(self):
        self.keys: dict[str, int] = {}  # secret key → integration id
        self.webhook_url: str | None = None
        self.requests: list[dict] = []  # every request: method, path, body, headers
        self.transactions: dict[int, dict] = {}  # id → record (with "integration")
        self.refunds: list[dict] = []
        self.taken: set[tuple[int, str]] = set()  # (integration, reference) asked for
        self.charge_status = "pay_offline"  # how POST /charge answers
        self.charge_gateway_response = "Declined"  # when charge_status is "failed"
        self.fail_next = 0  # answer this many requests with HTTP 500 (and do nothing)
        self.hang_next = 0  # do this many requests, then answer only after hang_seconds
        self.hang_seconds = 2.5
        self.gateway_timeout_next = 0  # do this many requests, then answer with a gateway's 504
        self._ids = itertools.count(4099260516)
        self._refund_ids = itertools.count(3018284)
        self._lock = threading.Lock()
        self._listen(self._handler())

    def add_account(self, secret_key: str) -> str:
        self.keys[secret_key] = 412829 + len(self.keys)
        return secret_key

    def calls(self, method: str, path: str) -> list[dict]:
        return [r for r in self.requests if r["method"] == method and r["path"] == path]

    # -- what happens at Paystack's end ---------------------------------------------------------
    def find(self, reference: str, integration: int | None = None) -> dict | None:
        for record in self.transactions.values():
            if record["reference"] == reference and integration in (None,
                                                                    record["integration"]):
                return record
        return None

    def settle(self, reference: str, status: str, gateway_response: str | None = None,
               amount: int | None = None) -> dict:
        """The shopper answered the prompt, or paid (or gave up) on the checkout page."""
        with self._lock:
            record = self.find(reference)
            record["status"] = status
            record["gateway_response"] = gateway_response or (
                "Approved" if status == "success" else "Declined")
            if record["channel"] is None:
                record["channel"] = "card"
            if amount is not None:
                record["amount"] = amount
            if status == "success":
                record["paid_at"] = record["paidAt"] = _now()
            return dict(record)

    def complete(self, reference: str, amount: int | None = None, **sign) -> httpx.Response:
        """Settle ``reference`` as paid and send the ``charge.success`` webhook."""
        record = self.settle(reference, "success", amount=amount)
        return self.send_webhook(self.webhook_body(record), **sign)

    def webhook_body(self, record: dict, event: str = "charge.success") -> dict:
        keep = ("id", "domain", "status", "reference", "amount", "message", "gateway_response",
                "paid_at", "created_at", "channel", "currency", "ip_address", "metadata", "log",
                "fees", "customer", "authorization", "plan")
        return {"event": event, "data": {key: record[key] for key in keep}}

    def key_of(self, reference: str) -> str:
        record = self.find(reference)
        return next(key for key, number in self.keys.items()
                    if number == record["integration"])

    def send_webhook(self, body: dict | bytes, key: str | None = None,
                     signed_as: bytes | None = None, header: str | None = None
                     ) -> httpx.Response:
        """POST ``body`` (a dict is sent as compact JSON; bytes as they are) to the webhook URL,
        signed with ``key`` (default: the key of the account the body's reference is in) over
        ``signed_as`` (default: the very bytes sent). ``header`` replaces the signature."""
        raw = body if isinstance(body, bytes) else json.dumps(
            body, separators=(",", ":")).encode()
        if header is None:
            if key is None:
                key = self.key_of(json.loads(raw)["data"]["reference"])
            header = signature(signed_as if signed_as is not None else raw, key)
        headers = {"Content-Type": "application/json"}
        if header:
            headers["x-paystack-signature"] = header
        return httpx.post(self.webhook_url, content=raw, headers=headers, timeout=10)

    def _record(self, integration: int, body: dict, channel: str | None, status: str) -> dict:
        transaction_id = next(self._ids)
        record = {
            "id": transaction_id, "integration": integration, "domain": "test",
            "status": status, "reference": body["reference"], "receipt_number": None,
            "amount": body["amount"], "message": None, "gateway_response": None,
            "paid_at": None, "created_at": _now(), "channel": channel,
            "currency": body["currency"], "ip_address": "41.90.64.12", "metadata": "",
            "log": None, "fees": body["amount"] * 15 // 1000, "fees_split": None,
            "authorization": {"authorization_code": f"AUTH_{uuid.uuid4().hex[:10]}",
                              "channel": channel or "card", "reusable": False,
                              "country_code": "KE" if body["currency"] == "KES" else "NG"},
            "customer": {"id": 181873746, "first_name": None, "last_name": None,
                         "email": body["email"], "customer_code": "CUS_1rkzaqsv4rrhqo6",
                         "phone": None, "metadata": None, "risk_action": "default"},
            "plan": None, "split": {}, "order_id": None, "paidAt": None,
            "createdAt": _now(), "requested_amount": body["amount"],
            "transaction_date": _now(), "plan_object": {}, "subaccount": {}, "refunded": 0,
        }
        self.transactions[transaction_id] = record
        return record

    # -- the API ----------------------------------------------------------------------------------
    @staticmethod
    def _error(message: str, status: int = 400) -> tuple[int, dict]:
        return status, {"status": False, "message": message}

    @staticmethod
    def _public(record: dict) -> dict:
        return {key: value for key, value in record.items()
                if key not in ("integration", "refunded")}

    def _handle(self, integration: int, method: str, path: str, body: dict
                ) -> tuple[int, dict]:
        if path == "/charge" and method == "POST":
            return self._charge(integration, body)
        if path == "/transaction/initialize" and method == "POST":
            return self._initialize(integration, body)
        if path.startswith("/transaction/verify/") and method == "GET":
            record = self.find(path.rsplit("/", 1)[1], integration)
            if record is None:
                return self._error(NOT_FOUND)
            return 200, {"status": True, "message": "Verification successful",
                         "data": self._public(record)}
        if path == "/refund" and method == "POST":
            return self._refund(integration, body)
        return self._error("Route not found", 404)

    def _check_new(self, integration: int, body: dict, duplicate: str,
                   no_email: str) -> tuple[int, dict] | None:
        if not body.get("email"):
            return self._error(no_email)
        amount = body.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            return self._error("Amount must be an integer")
        if body.get("currency") not in CURRENCIES:
            return self._error("Currency not supported by merchant")
        reference = body.get("reference")
        if not isinstance(reference, str) or not REFERENCE.match(reference):
            return self._error("Invalid character in transaction reference")
        if (integration, reference) in self.taken:
            return self._error(duplicate)
        return None

    def _charge(self, integration: int, body: dict) -> tuple[int, dict]:
        problem = self._check_new(integration, body, "Duplicate charge request for reference",
                                  "Email address is required to create charge")
        if problem:
            return problem
        wallet = body.get("mobile_money")
        if not isinstance(wallet, dict):
            return self._error("One of Authorization code, card object, bank object, ussd "
                               "object, mobile money object, qr object, or EFT object should "
                               "be passed.")
        currency = body["currency"]
        if wallet.get("provider") not in MOBILE_MONEY.get(currency, set()):
            return self._error("Invalid mobile money provider")  # wording not documented
        if not PHONES[currency].match(str(wallet.get("phone", ""))):
            return self._error("Invalid phone number")  # wording not documented
        self.taken.add((integration, body["reference"]))
        answer = self.charge_status
        status = {"pay_offline": "ongoing", "pending": "ongoing"}.get(answer, answer)
        record = self._record(integration, body, "mobile_money", status)
        record["mobile_money"] = dict(wallet)
        if answer == "success":
            record["gateway_response"], record["paid_at"] = "Approved", _now()
        if answer == "failed":
            record["gateway_response"] = self.charge_gateway_response
        if answer in ("success", "failed"):
            data = self._public(record)
        elif answer == "send_otp":
            data = {"reference": body["reference"], "status": "send_otp",
                    "display_text": "Please dial *110# to generate a voucher code. Then input "
                                    "the voucher"}
        else:
            data = {"reference": body["reference"], "status": answer,
                    "display_text": "Please complete authorization process on your mobile "
                                    "phone"}
        return 200, {"status": True, "message": "Charge attempted", "data": data}

    def _initialize(self, integration: int, body: dict) -> tuple[int, dict]:
        problem = self._check_new(integration, body, "Duplicate Transaction Reference",
                                  "Email is not allowed to be empty")
        if problem:
            return problem
        channels = body.get("channels", ["card"])
        if not isinstance(channels, list) or not set(channels) <= CHANNELS:
            return self._error("Invalid channels")  # wording not documented
        self.taken.add((integration, body["reference"]))
        self._record(integration, body, None, "abandoned")
        code = uuid.uuid4().hex[:15]
        return 200, {"status": True, "message": "Authorization URL created",
                     "data": {"authorization_url": f"https://checkout.paystack.com/{code}",
                              "access_code": code, "reference": body["reference"]}}

    def _refund(self, integration: int, body: dict) -> tuple[int, dict]:
        named = str(body.get("transaction", ""))
        record = self.find(named, integration) or next(
            (r for r in self.transactions.values()
             if str(r["id"]) == named and r["integration"] == integration), None)
        if record is None:
            return self._error("Transaction not found")
        if record["status"] != "success":
            return self._error("Cannot refund a transaction that was not successful")
        left = record["amount"] - record["refunded"]
        if left <= 0:
            return self._error("Transaction has been fully reversed")
        amount = body.get("amount", left)
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            return self._error("Invalid amount passed.")
        if amount > left:
            return self._error("Refund amount cannot be more than the original transaction "
                               "amount")
        record["refunded"] += amount
        refund = {"transaction": {"id": record["id"], "domain": "test",
                                  "reference": record["reference"], "amount": record["amount"],
                                  "currency": record["currency"], "channel": record["channel"]},
                  "integration": integration, "deducted_amount": 0, "channel": None,
                  "merchant_note": body.get("merchant_note", ""),
                  "customer_note": f"Refund for transaction {record['reference']}",
                  "status": "pending", "refunded_by": "owner@duka.test",
                  "expected_at": _now(), "currency": record["currency"], "domain": "test",
                  "amount": amount, "fully_deducted": False, "id": next(self._refund_ids),
                  "createdAt": _now(), "updatedAt": _now()}
        self.refunds.append(refund)
        return 200, {"status": True, "message": "Refund has been queued for processing",
                     "data": refund}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the caller gave up waiting
                    pass

            def _serve(self, method: str) -> None:
                path = urlsplit(self.path).path
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    return self._send(400, {"status": False, "message": "Invalid JSON"})
                hang = False
                with fake._lock:
                    fake.requests.append({"method": method, "path": path, "body": body,
                                          "headers": dict(self.headers)})
                    given = self.headers.get("Authorization")
                    if not given:
                        return self._send(401, {"status": False, "message":
                                                "No Authorization Header was found"})
                    key = given[len("Bearer "):] if given.startswith("Bearer ") else ""
                    if key not in fake.keys:
                        return self._send(401, {"status": False, "message": "Invalid key"})
                    if fake.fail_next > 0:
                        fake.fail_next -= 1
                        return self._send(500, {"status": False, "message": "An error "
                                                "occurred"})
                    if not isinstance(body, dict):
                        return self._send(400, {"status": False, "message": "Invalid body"})
                    status, answer = fake._handle(fake.keys[key], method, path, body)
                    if fake.hang_next > 0:
                        fake.hang_next -= 1
                        hang = True
                    timed_out = fake.gateway_timeout_next > 0
                    fake.gateway_timeout_next -= timed_out
                if hang:  # done at Paystack's end, but the answer comes too late
                    time.sleep(fake.hang_seconds)
                if timed_out:  # done, but the gateway in front gave up waiting for the answer
                    return send_gateway_page(self)
                self._send(status, answer)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

        return Handler
