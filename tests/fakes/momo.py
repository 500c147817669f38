"""A local stand-in for MTN's MoMo Open API (Collection, and Disbursement refunds), answering as
MTN documents it (see /work/shared/reference/payments.md §2):

- ``POST /{collection,disbursement}/token/``: Basic auth ``apiUser:apiKey`` and the product's
  ``Ocp-Apim-Subscription-Key`` → 200 ``{"access_token", "token_type", "expires_in"}``, else 401.
- ``POST /collection/v1_0/requesttopay``: Bearer token, ``X-Reference-Id`` (a UUIDv4),
  ``X-Target-Environment``, subscription key, optional ``X-Callback-Url``; JSON ``{amount (a
  major-unit string), currency, externalId, payer {partyIdType, partyId}, payerMessage,
  payeeNote}`` → 202 with no body; 409 ``RESOURCE_ALREADY_EXIST`` for a reference seen before;
  400 for a malformed request (an "&" or apostrophe in a note, over 160 characters); 500
  ``INVALID_CURRENCY`` for a currency the target environment does not take.
- ``GET /collection/v1_0/requesttopay/{referenceId}`` → 200 ``{amount, currency,
  financialTransactionId, externalId, payer, payerMessage, payeeNote, status, reason}``
  (a FAILED payment too); 404 ``RESOURCE_NOT_FOUND`` for another API User's or unknown one.
- ``POST /disbursement/v1_0/refund`` (``referenceIdToRefund``) → 202, and
  ``GET /disbursement/v1_0/refund/{referenceId}``.

Tests settle a request (``settle``) and send MTN's callback (``send_callback``: the status body,
PUT or POST, to the request's ``X-Callback-Url``). They can script failures: ``fail_next[what]``
answers 500, ``hang_next[what]`` answers only after ``hang_seconds`` (a request to pay is taken
first, as when MTN took it but its answer was lost); ``what`` is ``token``, ``requesttopay``,
``status`` or ``refund``. ``gateway_timeout_next`` requests to pay are taken, then answered by a
gateway's 504 page.
"""
from __future__ import annotations

import base64
import itertools
import json
import re
import secrets
import threading
import time
import uuid
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler

import httpx

from tests.fakes.server import LocalHttpServer, send_gateway_page

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
EXPONENTS = {"EUR": 2, "UGX": 0, "RWF": 0, "XOF": 0, "XAF": 0, "GHS": 2, "ZMW": 2}
RTP = "/collection/v1_0/requesttopay"
REFUND = "/disbursement/v1_0/refund"


class FakeMomo(LocalHttpServer):
    def __init__(self):
        self.collection_key = "collection-subscription-key"
        self.disbursement_key = "disbursement-subscription-key"
        self.environments = {"sandbox": "EUR", "mtnuganda": "UGX"}  # target env -> currency
        self.hang_seconds = 2.5
        self._lock = threading.Lock()
        self._receipts = itertools.count(4_000_000_001)
        self._listen(self._handler())
        self.reset()

    # -- set-up and inspection --------------------------------------------------------------
    def reset(self) -> None:
        with self._lock:
            self.users = {"collection": {}, "disbursement": {}}  # api user -> api key
            self.tokens: dict[str, tuple[str, str]] = {}  # token -> (product, api user)
            self.token_requests: list[tuple[str, str]] = []  # (product, api user), issued
            self.requests: list[dict] = []  # every request to pay: headers and body
            self.payments: dict[str, dict] = {}  # reference -> what MTN holds
            self.refund_requests: list[dict] = []
            self.refunds: dict[str, dict] = {}
            self.refund_status = "SUCCESSFUL"
            self.fail_next = {"token": 0, "requesttopay": 0, "status": 0, "refund": 0}
            self.hang_next = {"token": 0, "requesttopay": 0, "status": 0, "refund": 0}
            self.gateway_timeout_next = 0

    def add_user(self, product: str = "collection") -> tuple[str, str]:
        """A new API User and key, as sandbox provisioning makes them."""
        user, key = str(uuid.uuid4()), secrets.token_hex(16)
        with self._lock:
            self.users[product][user] = key
        return user, key

    def revoke_tokens(self) -> None:
        with self._lock:
            self.tokens.clear()

    # -- the shopper and MTN's side ----------------------------------------------------------
    def settle(self, reference: str, status: str, reason: str | None = None,
               amount: str | None = None) -> None:
        """The shopper approved (SUCCESSFUL) or MTN failed the request (FAILED, ``reason``)."""
        with self._lock:
            payment = self.payments[reference]
            payment["status"], payment["reason"] = status, reason
            if amount is not None:
                payment["paid_amount"] = amount
            if status == "SUCCESSFUL" and not payment.get("financialTransactionId"):
                payment["financialTransactionId"] = str(next(self._receipts))

    def status_body(self, reference: str) -> dict:
        payment = self.payments[reference]
        body = {"amount": payment.get("paid_amount", payment["body"]["amount"]),
                "currency": payment["body"]["currency"],
                "externalId": payment["body"]["externalId"],
                "payer": payment["body"]["payer"],
                "payerMessage": payment["body"].get("payerMessage", ""),
                "payeeNote": payment["body"].get("payeeNote", ""),
                "status": payment["status"]}
        if payment.get("financialTransactionId"):
            body["financialTransactionId"] = payment["financialTransactionId"]
        if payment["status"] == "FAILED":
            body["reason"] = payment["reason"]
        return body

    def send_callback(self, reference: str, method: str = "PUT", with_reference: bool = False,
                      **overrides) -> httpx.Response:
        """MTN's callback to the request's ``X-Callback-Url``: like the status body (and, as
        some report, without ``referenceId`` unless ``with_reference``)."""
        body = {**self.status_body(reference), **overrides}
        if with_reference:
            body["referenceId"] = reference
        return httpx.request(method, self.payments[reference]["callback_url"], json=body,
                             timeout=10)

    # -- the HTTP side -----------------------------------------------------------------------
    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _send(self, status: int, body: dict | None = None) -> None:
                data = json.dumps(body).encode() if body is not None else b""
                try:
                    self.send_response(status)
                    if body is not None:
                        self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
                    pass

            def _error(self, status: int, code: str, message: str) -> None:
                self._send(status, {"code": code, "message": message})

            def _body(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    return json.loads(raw) if raw else None
                except ValueError:
                    return None

            def _scripted(self, what: str) -> bool:
                """Answer a scripted 500 and say so (True)."""
                with fake._lock:
                    if fake.fail_next[what] > 0:
                        fake.fail_next[what] -= 1
                        failing = True
                    else:
                        failing = False
                if failing:
                    self._error(500, "INTERNAL_PROCESSING_ERROR", "An internal error occurred.")
                return failing

            def _hang_if_scripted(self, what: str) -> None:
                with fake._lock:
                    hang = fake.hang_next[what] > 0
                    if hang:
                        fake.hang_next[what] -= 1
                if hang:
                    time.sleep(fake.hang_seconds)

            def _product_user(self, product: str) -> str | None:
                """The API User whose bearer token and subscription key came, or None (the 401
                has been answered)."""
                key = fake.collection_key if product == "collection" else fake.disbursement_key
                if self.headers.get("Ocp-Apim-Subscription-Key") != key:
                    self._send(401, {"statusCode": 401, "message": "Access denied due to invalid "
                                     "subscription key. Make sure to provide a valid key for an "
                                     "active subscription."})
                    return None
                auth = self.headers.get("Authorization", "")
                holder = fake.tokens.get(auth.removeprefix("Bearer ")) \
                    if auth.startswith("Bearer ") else None
                if holder is None or holder[0] != product:
                    self._error(401, "UNAUTHORIZED", "Access token is missing, invalid or "
                                "expired.")
                    return None
                environment = self.headers.get("X-Target-Environment", "")
                if environment not in fake.environments:
                    self._error(500, "NOT_ALLOWED_TARGET_ENVIRONMENT",
                                "Access to target environment is forbidden.")
                    return None
                return holder[1]

            def do_POST(self):
                body = self._body()
                path = self.path
                if path in ("/collection/token/", "/disbursement/token/"):
                    return self._token(path.split("/")[1])
                if path == RTP:
                    return self._request_to_pay(body)
                if path == REFUND:
                    return self._refund(body)
                self._error(404, "RESOURCE_NOT_FOUND", "Requested resource was not found.")

            def do_GET(self):
                if self.path.startswith(RTP + "/"):
                    return self._status("collection", self.path[len(RTP) + 1:])
                if self.path.startswith(REFUND + "/"):
                    return self._status("disbursement", self.path[len(REFUND) + 1:])
                self._error(404, "RESOURCE_NOT_FOUND", "Requested resource was not found.")

            def _token(self, product: str) -> None:
                if self._scripted("token"):
                    return
                key = fake.collection_key if product == "collection" else fake.disbursement_key
                try:
                    kind, encoded = self.headers.get("Authorization", "").split(" ", 1)
                    user, api_key = base64.b64decode(encoded).decode().split(":", 1)
                except ValueError:
                    kind, user, api_key = "", "", ""
                if self.headers.get("Ocp-Apim-Subscription-Key") != key or kind != "Basic" \
                        or fake.users[product].get(user) != api_key:
                    return self._send(401, {"error": "login_failed"})
                token = secrets.token_urlsafe(24)
                with fake._lock:
                    fake.tokens[token] = (product, user)
                    fake.token_requests.append((product, user))
                self._send(200, {"access_token": token, "token_type": "access_token",
                                 "expires_in": 3600})

            def _check_money_body(self, body, party: str) -> str | None:
                """What is wrong with a request to pay's or refund's body, or None."""
                if not isinstance(body, dict):
                    return "The body is not a JSON object."
                for name in ("amount", "currency", "externalId", "payerMessage", "payeeNote"):
                    if not isinstance(body.get(name), str):
                        return f"{name} is missing or not a string."
                for name in ("payerMessage", "payeeNote"):
                    text = body[name]
                    if len(text) > 160 or "&" in text or "'" in text:
                        return f"{name} has an unsupported character or is too long."
                try:
                    amount = Decimal(body["amount"])
                except InvalidOperation:
                    return "amount is not a number."
                places = EXPONENTS.get(body["currency"], 2)
                if amount <= 0 or amount != amount.quantize(Decimal(1).scaleb(-places)):
                    return "amount is not valid for the currency."
                if party:
                    payer = body.get(party)
                    if not isinstance(payer, dict) or payer.get("partyIdType") != "MSISDN" \
                            or not str(payer.get("partyId", "")).isdigit():
                        return f"{party} is missing or not an MSISDN."
                return None

            def _request_to_pay(self, body) -> None:
                user = self._product_user("collection")
                if user is None or self._scripted("requesttopay"):
                    return
                reference = self.headers.get("X-Reference-Id", "")
                if not UUID4.match(reference):
                    return self._error(400, "BAD_REQUEST", "X-Reference-Id is not a UUID v4.")
                problem = self._check_money_body(body, "payer")
                if problem:
                    return self._error(400, "BAD_REQUEST", problem)
                currency = fake.environments[self.headers["X-Target-Environment"]]
                if body["currency"] != currency:
                    return self._error(500, "INVALID_CURRENCY", "Currency not supported.")
                with fake._lock:
                    fake.requests.append({"headers": dict(self.headers), "body": body})
                    if reference in fake.payments:
                        duplicate = True
                    else:
                        duplicate = False
                        fake.payments[reference] = {
                            "user": user, "body": body, "status": "PENDING", "reason": None,
                            "callback_url": self.headers.get("X-Callback-Url")}
                if duplicate:
                    return self._error(409, "RESOURCE_ALREADY_EXIST",
                                       "Duplicated reference id. Creation of resource failed.")
                self._hang_if_scripted("requesttopay")  # taken, but the answer comes late
                with fake._lock:
                    timed_out = fake.gateway_timeout_next > 0
                    fake.gateway_timeout_next -= timed_out
                if timed_out:  # taken, but the gateway in front gave up waiting for the answer
                    return send_gateway_page(self)
                self._send(202)

            def _status(self, product: str, reference: str) -> None:
                user = self._product_user(product)
                if user is None or self._scripted("status"):
                    return
                self._hang_if_scripted("status")
                with fake._lock:
                    if product == "collection":
                        held = fake.payments.get(reference)
                        body = fake.status_body(reference) if held and held["user"] == user \
                            else None
                    else:
                        held = fake.refunds.get(reference)
                        body = dict(held["answer"]) if held and held["user"] == user else None
                if body is None:
                    return self._error(404, "RESOURCE_NOT_FOUND",
                                       "Requested resource was not found.")
                self._send(200, body)

            def _refund(self, body) -> None:
                user = self._product_user("disbursement")
                if user is None or self._scripted("refund"):
                    return
                reference = self.headers.get("X-Reference-Id", "")
                if not UUID4.match(reference):
                    return self._error(400, "BAD_REQUEST", "X-Reference-Id is not a UUID v4.")
                problem = self._check_money_body(body, "")
                if problem:
                    return self._error(400, "BAD_REQUEST", problem)
                with fake._lock:
                    paid = fake.payments.get(str(body.get("referenceIdToRefund")))
                    if paid is None or paid["status"] != "SUCCESSFUL":
                        return self._error(404, "RESOURCE_NOT_FOUND",
                                           "The payment to refund was not found.")
                    if reference in fake.refunds:
                        return self._error(409, "RESOURCE_ALREADY_EXIST",
                                           "Duplicated reference id. Creation of resource "
                                           "failed.")
                    given = sum(Decimal(r["body"]["amount"]) for r in fake.refunds.values()
                                if r["body"]["referenceIdToRefund"] == body["referenceIdToRefund"])
                    if given + Decimal(body["amount"]) > Decimal(paid["body"]["amount"]):
                        return self._error(400, "BAD_REQUEST", "The refund is more than paid.")
                    fake.refund_requests.append({"headers": dict(self.headers), "body": body})
                    answer = {"amount": body["amount"], "currency": body["currency"],
                              "externalId": body["externalId"], "payee": paid["body"]["payer"],
                              "payerMessage": body["payerMessage"],
                              "payeeNote": body["payeeNote"], "status": fake.refund_status}
                    if fake.refund_status == "SUCCESSFUL":
                        answer["financialTransactionId"] = str(next(fake._receipts))
                    if fake.refund_status == "FAILED":
                        answer["reason"] = "NOT_ENOUGH_FUNDS"
                    fake.refunds[reference] = {"user": user, "body": body, "answer": answer}
                self._send(202)

        return Handler
