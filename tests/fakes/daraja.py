"""A local stand-in for Safaricom's Daraja API, speaking its documented wire format.

- ``GET /oauth/v1/generate?grant_type=client_credentials`` with Basic auth →
  ``{"access_token", "expires_in": "3599"}``. As Daraja's FAQ says, a new token voids the old.
- ``POST /mpesa/stkpush/v1/processrequest`` → ``{"MerchantRequestID", "CheckoutRequestID",
  "ResponseCode": "0", ...}``; it checks the bearer token (``404.001.03``), the password
  (``base64(shortcode + passkey + Timestamp)``, else ``500.001.1001`` "Wrong credentials") and
  the fields (``400.002.02`` "Bad Request - Invalid X").
- ``POST /mpesa/stkpushquery/v1/query`` → ``ResultCode`` as a string once the shopper answered
  (``answer``), else the non-2xx ``500.001.1001`` "The transaction is being processed".
- ``POST /mpesa/reversal/v1/request`` → ``{"ConversationID", "ResponseCode": "0", ...}``.

Tests script it: ``fail_next`` (HTTP 500), ``hang_next`` (no answer for ``hang_seconds``, and
the request is dropped), ``late_next`` (the request is carried out, but answered only after
``hang_seconds``), ``proxy_error_next`` (carried out, but answered by a proxy's HTML error
page, HTTP ``proxy_status``), ``void_token_next`` (say 404.001.03 to a good token),
``push_error`` (a Daraja error body for the next push), and ``callback(...)`` POSTs the
documented ``stkCallback`` to the CallBackURL.
"""
from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.fakes.server import LocalHttpServer, send_gateway_page

SANDBOX_SHORTCODE = "174379"
SANDBOX_PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"

LOCKED = {"errorCode": "500.001.1001",
          "errorMessage": "Unable to lock subscriber, a transaction is already in process for "
                          "the current subscriber"}
PROCESSING = {"errorCode": "500.001.1001", "errorMessage": "The transaction is being processed"}
INVALID_TOKEN = {"errorCode": "404.001.03", "errorMessage": "Invalid Access Token"}
WRONG_CREDENTIALS = {"errorCode": "500.001.1001", "errorMessage": "Wrong credentials"}

PUSH_FIELDS = ("BusinessShortCode", "Password", "Timestamp", "TransactionType", "Amount",
               "PartyA", "PartyB", "PhoneNumber", "CallBackURL", "AccountReference")
REVERSAL_FIELDS = ("Initiator", "SecurityCredential", "CommandID", "TransactionID", "Amount",
                   "ReceiverParty", "RecieverIdentifierType", "ResultURL", "QueueTimeOutURL",
                   "Remarks")


def bad_request(field: str) -> tuple[int, dict]:
    return 400, {"errorCode": "400.002.02", "errorMessage": f"Bad Request - Invalid {field}"}


def stk_callback_body(checkout_id: str, code: int = 0, desc: str = "", amount=None,
                      receipt: str | None = None, phone: int = 254712345678,
                      merchant_id: str = "29115-34620561-1") -> dict:
    """The callback Daraja POSTs, as documented (``CallbackMetadata`` only on success; a
    ``Balance`` item without a ``Value``, as some deliveries carry)."""
    stk = {"MerchantRequestID": merchant_id, "CheckoutRequestID": checkout_id,
           "ResultCode": code,
           "ResultDesc": desc or ("The service request is processed successfully." if code == 0
                                  else "Request cancelled by user")}
    if code == 0:
        stk["CallbackMetadata"] = {"Item": [
            {"Name": "Amount", "Value": amount},
            {"Name": "MpesaReceiptNumber", "Value": receipt},
            {"Name": "Balance"},
            {"Name": "TransactionDate", "Value": 20191219102115},
            {"Name": "PhoneNumber", "Value": phone}]}
    return {"Body": {"stkCallback": stk}}


class FakeDaraja(LocalHttpServer):
    def __init__(self, consumer_key: str = "fake-consumer-key",
                 consumer_secret: str = "fake-consumer-secret",
                 shortcode: str = SANDBOX_SHORTCODE, passkey: str = SANDBOX_PASSKEY):
        self.consumer_key, self.consumer_secret = consumer_key, consumer_secret
        self.shortcode, self.passkey = shortcode, passkey
        self.tokens_issued: list[str] = []
        self.pushes: list[dict] = []  # accepted STK pushes: the body plus "CheckoutRequestID"
        self.queries: list[dict] = []
        self.reversals: list[dict] = []
        self.requests: list[str] = []  # every request's "METHOD /path"
        self.answers: dict[str, str] = {}  # CheckoutRequestID -> ResultCode the query reports
        self.fail_next = 0  # answer this many requests (any path but the token) with HTTP 500
        self.hang_next = 0  # this many requests answer only after hang_seconds
        self.hang_seconds = 2.5
        self.late_next = 0  # this many requests are carried out, then answered after hang_seconds
        # this many requests are carried out, then answered by a proxy's HTML error page with
        # this HTTP status (a 504 when the backend is slow): no Daraja error body
        self.proxy_error_next, self.proxy_status = 0, 504
        self.void_token_next = 0  # say 404.001.03 to this many requests with a good token
        self.push_error: dict | None = None  # the Daraja error body the next push answers
        self._lock = threading.Lock()
        self._listen(self._handler(), daemon_threads=True)

    @property
    def settings(self) -> dict:
        return {"shortcode": self.shortcode}

    @property
    def secrets(self) -> dict:
        return {"consumer_key": self.consumer_key, "consumer_secret": self.consumer_secret,
                "passkey": self.passkey}

    def push_for(self, checkout_id: str) -> dict:
        return next(p for p in self.pushes if p["CheckoutRequestID"] == checkout_id)

    def callback(self, checkout_id: str, code: int = 0, desc: str = "", amount=None,
                 receipt: str | None = None, url: str | None = None) -> httpx.Response:
        """POST the documented stkCallback for an accepted push to its CallBackURL."""
        push = self.push_for(checkout_id)
        body = stk_callback_body(checkout_id, code, desc,
                                 amount=push["Amount"] if amount is None else amount,
                                 receipt=receipt or "NLJ7RT61SV",
                                 phone=int(push["PhoneNumber"]),  # the phone prompted paid
                                 merchant_id=push["MerchantRequestID"])
        return httpx.post(url or push["CallBackURL"], json=body, timeout=10)

    # -- the API --------------------------------------------------------------------------------
    def _token(self, headers, query: dict) -> tuple[int, dict]:
        if query.get("grant_type") != ["client_credentials"]:
            return 400, {"errorCode": "400.008.02", "errorMessage": "Invalid grant type passed"}
        expected = base64.b64encode(f"{self.consumer_key}:{self.consumer_secret}".encode())
        if headers.get("Authorization", "") != f"Basic {expected.decode()}":
            return 400, {"errorCode": "400.008.01",
                         "errorMessage": "Invalid Authentication passed"}
        token = secrets.token_hex(14)
        self.tokens_issued.append(token)  # the newest token voids the ones before it
        return 200, {"access_token": token, "expires_in": "3599"}

    def _authorised(self, headers) -> bool:
        if not self.tokens_issued or \
                headers.get("Authorization") != f"Bearer {self.tokens_issued[-1]}":
            return False
        if self.void_token_next:
            self.void_token_next -= 1
            return False
        return True

    def _stamped(self, body: dict) -> tuple[int, dict] | None:
        """Daraja's checks on BusinessShortCode, Password and Timestamp; None when right."""
        when = str(body.get("Timestamp", ""))
        if not re.fullmatch(r"\d{14}", when):
            return bad_request("Timestamp")
        expected = base64.b64encode(f"{self.shortcode}{self.passkey}{when}".encode()).decode()
        if str(body.get("BusinessShortCode")) != self.shortcode or body.get("Password") != expected:
            return 500, WRONG_CREDENTIALS
        return None

    def _push(self, body: dict) -> tuple[int, dict]:
        for field in PUSH_FIELDS:
            if field not in body or body[field] in ("", None):
                return bad_request(field)
        wrong = self._stamped(body)
        if wrong:
            return wrong
        if body["TransactionType"] not in ("CustomerPayBillOnline", "CustomerBuyGoodsOnline"):
            return bad_request("TransactionType")
        amount = body["Amount"]
        if isinstance(amount, bool) or not str(amount).isdigit() or int(amount) < 1:
            return bad_request("Amount")
        for field in ("PartyA", "PhoneNumber"):
            if not re.fullmatch(r"2547\d{8}|2541\d{8}", str(body[field])):
                return bad_request(field)
        if len(str(body["AccountReference"])) > 12:
            return bad_request("AccountReference")
        if len(str(body.get("TransactionDesc", ""))) > 13:
            return bad_request("TransactionDesc")
        if not str(body["CallBackURL"]).startswith(("http://", "https://")):
            return bad_request("CallBackURL")
        if self.push_error is not None:
            error, self.push_error = self.push_error, None
            return (500 if error["errorCode"].startswith("500") else 400), error
        checkout_id = f"ws_CO_{time.strftime('%d%m%Y%H%M%S')}{uuid.uuid4().hex[:12]}"
        merchant_id = f"{uuid.uuid4().hex[:4]}-{uuid.uuid4().hex[:12]}"
        self.pushes.append({**body, "CheckoutRequestID": checkout_id,
                            "MerchantRequestID": merchant_id})
        return 200, {"MerchantRequestID": merchant_id, "CheckoutRequestID": checkout_id,
                     "ResponseCode": "0",
                     "ResponseDescription": "Success. Request accepted for processing",
                     "CustomerMessage": "Success. Request accepted for processing"}

    def _query(self, body: dict) -> tuple[int, dict]:
        wrong = self._stamped(body)
        if wrong:
            return wrong
        checkout_id = body.get("CheckoutRequestID")
        if not any(p["CheckoutRequestID"] == checkout_id for p in self.pushes):
            return bad_request("CheckoutRequestID")
        self.queries.append(body)
        code = self.answers.get(checkout_id)
        if code is None:
            return 500, PROCESSING
        descriptions = {"0": "The service request is processed successfully.",
                        "1032": "Request cancelled by user", "1": "The balance is insufficient "
                        "for the transaction.", "1037": "DS timeout user cannot be reached"}
        return 200, {"ResponseCode": "0",
                     "ResponseDescription": "The service request has been accepted successsfully",
                     "MerchantRequestID": self.push_for(checkout_id)["MerchantRequestID"],
                     "CheckoutRequestID": checkout_id, "ResultCode": code,
                     "ResultDesc": descriptions.get(code, "Failed")}

    def _reversal(self, body: dict) -> tuple[int, dict]:
        for field in REVERSAL_FIELDS:
            if field not in body or body[field] in ("", None):
                return bad_request(field)
        if body["CommandID"] != "TransactionReversal":
            return bad_request("CommandID")
        if str(body["RecieverIdentifierType"]) != "11" or \
                str(body["ReceiverParty"]) != self.shortcode:
            return bad_request("ReceiverParty")
        self.reversals.append(body)
        return 200, {"OriginatorConversationID": f"{uuid.uuid4().hex[:5]}-{uuid.uuid4().hex[:8]}",
                     "ConversationID": f"AG_20260101_{uuid.uuid4().hex[:20]}",
                     "ResponseCode": "0",
                     "ResponseDescription": "Accept the service request successfully."}

    def _handler(self):
        fake = self
        routes = {"/mpesa/stkpush/v1/processrequest": FakeDaraja._push,
                  "/mpesa/stkpushquery/v1/query": FakeDaraja._query,
                  "/mpesa/reversal/v1/request": FakeDaraja._reversal}

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _send(self, status: int, body: dict) -> None:
                if status != 200:
                    body = {"requestId": uuid.uuid4().hex[:20], **body}
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
                    pass

            def _hang_or_fail(self) -> bool:
                with fake._lock:
                    hang = fake.hang_next > 0
                    fake.hang_next -= hang
                    fail = not hang and fake.fail_next > 0
                    fake.fail_next -= fail
                if hang:  # past the client's timeout; the request is dropped, not processed
                    time.sleep(fake.hang_seconds)
                    self._send(500, {"errorCode": "500.003.02", "errorMessage": "System busy"})
                if fail:
                    self._send(500, {"errorCode": "500.003.1001",
                                     "errorMessage": "Internal Server Error"})
                return hang or fail

            def do_GET(self):
                parts = urlsplit(self.path)
                with fake._lock:
                    fake.requests.append(f"GET {parts.path}")
                if parts.path != "/oauth/v1/generate":
                    return self._send(404, {"errorCode": "404.001.01",
                                            "errorMessage": "Resource not found"})
                with fake._lock:
                    status, body = fake._token(self.headers, parse_qs(parts.query))
                self._send(status, body)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                path = urlsplit(self.path).path
                with fake._lock:
                    fake.requests.append(f"POST {path}")
                if path not in routes:
                    return self._send(404, {"errorCode": "404.001.01",
                                            "errorMessage": "Resource not found"})
                if self._hang_or_fail():
                    return
                with fake._lock:
                    if not fake._authorised(self.headers):
                        return self._send(404, INVALID_TOKEN)
                if not self.headers.get("Content-Type", "").startswith("application/json"):
                    return self._send(*bad_request("BusinessShortCode"))  # as Daraja's FAQ says
                try:
                    body = json.loads(raw)
                except ValueError:
                    return self._send(*bad_request("JSON"))
                with fake._lock:
                    status, answer = routes[path](fake, body)
                    late = fake.late_next > 0
                    fake.late_next -= late
                    proxied = fake.proxy_error_next > 0
                    fake.proxy_error_next -= proxied
                if late:  # done (a push is on the phone), but the answer comes too late
                    time.sleep(fake.hang_seconds)
                if proxied:  # done, but the gateway in front gave up waiting for the answer
                    return send_gateway_page(self, fake.proxy_status)
                self._send(status, answer)

        return Handler
