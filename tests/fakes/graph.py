"""A local stand-in for Meta's WhatsApp Cloud API, and builders for its webhooks.

``POST /v21.0/{phone_number_id}/messages`` with ``Authorization: Bearer <token>`` and a JSON
body; answers 200 ``{"messaging_product", "contacts": [{"input", "wa_id"}], "messages":
[{"id": "wamid..."}]}``, or a Graph error ``{"error": {"message", "type", "code", ...}}``.
Bodies breaking Meta's documented limits get error 131009, as from Meta.

The webhook builders return whole payloads in Meta's documented sample shape (one entry, one
``messages`` change); ``batch`` joins several, as Meta does when it delivers a burst at once.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler

from tests.fakes.server import LocalHttpServer

VERSION = "v21.0"
PHONE_NUMBER_ID = "106540352242922"  # our WhatsApp number's id (the demo store's in tests)
DISPLAY_PHONE_NUMBER = "15550783881"
WABA_ID = "102290129340398"
_PATH = re.compile(rf"^/{re.escape(VERSION)}/([^/?]+)/messages$")


class FakeGraph(LocalHttpServer):
    # url: the base URL, up to and including the API version (``WHATSAPP_API_URL``)
    url_path = f"/{VERSION}"

    def __init__(self, token: str = "test-graph-token"):
        self.token = token
        self.messages: list[dict] = []  # accepted sends: {"phone_number_id", "body"}
        self.attempts = 0  # every request, accepted or not
        self.fail_next = 0  # answer this many requests with a bare HTTP 500
        self.hang_next = 0  # hold this many requests for ``hang_seconds``, then answer 504
        self.hang_seconds = 5.0  # longer than the client timeout in tests
        self.error_next: tuple | None = None  # (http_status, code, message[, subcode]), once
        self._lock = threading.Lock()
        self._release = threading.Event()  # lets held requests go on reset/stop
        self._listen(self._handler())

    def stop(self) -> None:
        self._release.set()
        super().stop()

    def reset(self) -> None:
        self._release.set()  # a request still held from the last test answers now
        with self._lock:
            self.messages.clear()
            self.attempts = 0
            self.fail_next = self.hang_next = 0
            self.error_next = None
            self._release = threading.Event()

    def _answer(self, path: str, auth: str | None, raw: bytes) -> tuple[int, dict | str]:
        with self._lock:
            self.attempts += 1
            match = _PATH.match(path)
            if not match:
                return 400, graph_error(100, "Unsupported post request.")
            if auth != f"Bearer {self.token}":
                return 401, graph_error(190, "Invalid OAuth access token - Cannot parse "
                                             "access token")
            if self.fail_next > 0:
                self.fail_next -= 1
                return 500, "Internal Server Error"
            held = self.hang_next > 0
            if held:
                self.hang_next -= 1
                release = self._release
            elif self.error_next is not None:
                status, *error = self.error_next
                self.error_next = None
                return status, graph_error(*error)
        if held:  # outside the lock: other requests go on meanwhile
            release.wait(self.hang_seconds)
            return 504, "Gateway Timeout"
        try:
            body = json.loads(raw)
        except ValueError:
            return 400, graph_error(100, "Invalid JSON")
        problem = invalid(body)
        if problem:
            return 400, graph_error(131009, "Parameter value is not valid", details=problem)
        with self._lock:
            self.messages.append({"phone_number_id": match.group(1), "body": body})
        to = body["to"]
        return 200, {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                     "messages": [{"id": f"wamid.{uuid.uuid4().hex.upper()}"}]}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, answer = fake._answer(self.path, self.headers.get("Authorization"), raw)
                text = answer if isinstance(answer, str) else json.dumps(answer)
                data = text.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain" if isinstance(answer, str)
                                     else "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (hang_next): as it should

        return Handler


def graph_error(code: int, message: str, subcode: int | None = None,
                details: str | None = None) -> dict:
    """A Graph API error body as Meta documents it (``error_subcode`` is gone since v16)."""
    error = {"message": f"(#{code}) {message}", "type": "OAuthException", "code": code,
             "error_data": {"messaging_product": "whatsapp", "details": details or message},
             "fbtrace_id": f"A{uuid.uuid4().hex[:22]}"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


def invalid(body: dict) -> str:
    """Why Meta would refuse this send (empty when it would not): documented limits only."""
    try:
        return _limits(body)
    except (KeyError, TypeError, AttributeError) as error:
        return f"malformed request: {error!r}"


def _limits(body: dict) -> str:
    if body.get("messaging_product") != "whatsapp" or not body.get("to"):
        return "messaging_product must be whatsapp and to is required"
    kind = body.get("type")
    if kind == "text":
        return "" if 0 < len(body["text"].get("body") or "") <= 4096 else "text.body 1-4096"
    if kind == "interactive":
        inter = body["interactive"]
        text = (inter.get("body") or {}).get("text") or ""
        if not 0 < len(text) <= 1024:
            return "interactive.body.text 1-1024"
        if inter.get("type") == "button":
            titles = [b["reply"]["title"] for b in inter["action"]["buttons"]]
            if not 0 < len(titles) <= 3 or len(set(titles)) < len(titles) or any(
                    not 0 < len(t) <= 20 for t in titles):
                return "1-3 buttons with unique titles of 1-20 characters"
        elif inter.get("type") == "list":
            rows = [r for s in inter["action"]["sections"] for r in s["rows"]]
            if not 0 < len(inter["action"]["button"]) <= 20 or not 0 < len(rows) <= 10:
                return "list button 1-20 characters, 1-10 rows"
            if any(len(r["title"]) > 24 or len(r.get("description", "")) > 72 for r in rows):
                return "row title 24, description 72 characters"
    return ""


# Webhooks --------------------------------------------------------------------------------


def signed(app_secret: str, payload: dict) -> tuple[bytes, dict]:
    """The raw body and headers of a delivery of ``payload``, signed as Meta signs it.

    Meta escapes non-ASCII as ``\\uXXXX`` (lowercase hex) and signs those exact bytes.
    """
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode()
    signature = hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()
    return raw, {"X-Hub-Signature-256": f"sha256={signature}",
                 "Content-Type": "application/json"}


def _webhook(value: dict, phone_number_id: str) -> dict:
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": DISPLAY_PHONE_NUMBER,
                          "phone_number_id": phone_number_id}, **value}
    return {"object": "whatsapp_business_account",
            "entry": [{"id": WABA_ID, "changes": [{"value": value, "field": "messages"}]}]}


def _message(wa_id: str | None, kind: str, fields: dict, phone_number_id: str,
             message_id: str | None, name: str, user_id: str | None,
             timestamp: int | None) -> dict:
    """One message from one contact. ``wa_id=None`` is a user known only by a BSUID."""
    contact = {"profile": {"name": name}}
    message = {"id": message_id or f"wamid.{uuid.uuid4().hex.upper()}",
               "timestamp": str(int(time.time()) if timestamp is None else timestamp),
               "type": kind, **fields}
    if wa_id is not None:
        contact["wa_id"] = wa_id
        message["from"] = wa_id
    if user_id is not None:
        contact["user_id"] = user_id
        message["from_user_id"] = user_id
    return _webhook({"contacts": [contact], "messages": [message]}, phone_number_id)


def text_message(wa_id: str | None, body: str, phone_number_id: str = PHONE_NUMBER_ID,
                 message_id: str | None = None, name: str = "Wanjiku",
                 user_id: str | None = None, timestamp: int | None = None) -> dict:
    return _message(wa_id, "text", {"text": {"body": body}}, phone_number_id, message_id,
                    name, user_id, timestamp)


def interactive_reply(wa_id: str | None, choice_id: str, title: str,
                      phone_number_id: str = PHONE_NUMBER_ID, kind: str = "button_reply",
                      description: str = "", message_id: str | None = None,
                      name: str = "Wanjiku", user_id: str | None = None,
                      timestamp: int | None = None, replying_to: str = "") -> dict:
    """A tap on a reply button (``kind="button_reply"``) or a list row (``"list_reply"``)."""
    reply = {"id": choice_id, "title": title}
    if kind == "list_reply" and description:
        reply["description"] = description
    fields = {"interactive": {"type": kind, kind: reply},
              "context": {"from": DISPLAY_PHONE_NUMBER,
                          "id": replying_to or f"wamid.{uuid.uuid4().hex.upper()}"}}
    return _message(wa_id, "interactive", fields, phone_number_id, message_id, name, user_id,
                    timestamp)


def template_button(wa_id: str | None, payload: str, text: str,
                    phone_number_id: str = PHONE_NUMBER_ID, message_id: str | None = None,
                    name: str = "Wanjiku", user_id: str | None = None) -> dict:
    """A tap on a template's quick-reply button."""
    fields = {"button": {"payload": payload, "text": text},
              "context": {"from": DISPLAY_PHONE_NUMBER,
                          "id": f"wamid.{uuid.uuid4().hex.upper()}"}}
    return _message(wa_id, "button", fields, phone_number_id, message_id, name, user_id, None)


def order_message(wa_id: str | None, items: list[tuple[str, int]], text: str = "",
                  phone_number_id: str = PHONE_NUMBER_ID, message_id: str | None = None,
                  name: str = "Wanjiku", user_id: str | None = None,
                  catalog_id: str = "1537586790133112", currency: str = "KES",
                  price: float = 120.0) -> dict:
    """A catalog cart sent from WhatsApp: ``items`` are (product_retailer_id, quantity)."""
    order = {"catalog_id": catalog_id, "text": text,
             "product_items": [{"product_retailer_id": sku, "quantity": quantity,
                                "item_price": price, "currency": currency}
                               for sku, quantity in items]}
    return _message(wa_id, "order", {"order": order}, phone_number_id, message_id, name,
                    user_id, None)


def location_message(wa_id: str | None, latitude: float, longitude: float, name: str = "",
                     address: str = "", phone_number_id: str = PHONE_NUMBER_ID,
                     message_id: str | None = None, profile_name: str = "Wanjiku",
                     user_id: str | None = None) -> dict:
    location = {"latitude": latitude, "longitude": longitude}
    location.update({k: v for k, v in (("name", name), ("address", address)) if v})
    return _message(wa_id, "location", {"location": location}, phone_number_id, message_id,
                    profile_name, user_id, None)


def image_message(wa_id: str | None, caption: str = "", phone_number_id: str = PHONE_NUMBER_ID,
                  message_id: str | None = None, name: str = "Wanjiku",
                  user_id: str | None = None) -> dict:
    image = {"mime_type": "image/jpeg", "sha256": hashlib.sha256(b"photo").hexdigest(),
             "id": "1003383421387256"}
    if caption:
        image["caption"] = caption
    return _message(wa_id, "image", {"image": image}, phone_number_id, message_id, name,
                    user_id, None)


def status_update(message_id: str, status: str, recipient_id: str,
                  phone_number_id: str = PHONE_NUMBER_ID,
                  errors: tuple[tuple[int, str], ...] = (), timestamp: int | None = None) -> dict:
    """Meta's word on a message we sent: sent, delivered, read or failed (with errors)."""
    report = {"id": message_id, "status": status,
              "timestamp": str(int(time.time()) if timestamp is None else timestamp),
              "recipient_id": recipient_id}
    if status in ("sent", "delivered"):
        report["conversation"] = {"id": uuid.uuid4().hex,
                                  "origin": {"type": "service"}}
        report["pricing"] = {"billable": True, "pricing_model": "CBP", "category": "service"}
    if errors:
        report["errors"] = [{"code": code, "title": title, "message": title,
                             "error_data": {"details": title}} for code, title in errors]
    return _webhook({"statuses": [report]}, phone_number_id)


def batch(*payloads: dict, one_change: bool = False) -> dict:
    """Several webhooks as one delivery: one entry each, or (``one_change``) every contact,
    message and status in a single change, as Meta also sends them."""
    if not one_change:
        return {"object": "whatsapp_business_account",
                "entry": [entry for payload in payloads for entry in payload["entry"]]}
    values = [change["value"] for payload in payloads for entry in payload["entry"]
              for change in entry["changes"]]
    merged = {k: v for k, v in values[0].items() if k in ("messaging_product", "metadata")}
    for key in ("contacts", "messages", "statuses"):
        items = [item for value in values for item in value.get(key, [])]
        if items:
            merged[key] = items
    return {"object": "whatsapp_business_account",
            "entry": [{"id": WABA_ID, "changes": [{"value": merged, "field": "messages"}]}]}
