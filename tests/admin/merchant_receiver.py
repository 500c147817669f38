"""A merchant's webhook receiver, as a merchant would write one, on a local port.

Each path is one receiving endpoint with the signing secret Duka showed when it was subscribed
(``expect(path, secret)``). A request is checked as a merchant's code checks it (the README's
snippet): the hex HMAC-SHA256, keyed with the secret, of ``X-Duka-Timestamp``, a dot and the raw
body bytes must equal ``X-Duka-Signature`` (``sha256=<hex>``), compared in constant time, and the
timestamp must be within ``TOLERANCE`` seconds of the receiver's clock (``clock``, a callable,
so a test can move it on); otherwise it is answered 401. A delivery id (``X-Duka-Delivery``)
seen before is answered 200 and not processed again.

``fail_next`` answers that many requests with 500 before anything is checked (a merchant's
server having a bad minute). Every request lands in ``received`` (path, headers, raw body,
whether the signature matched, whether the timestamp was fresh, the status answered; header
names Title-Cased); those processed, parsed, in ``events``.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler

from tests.fakes.server import LocalHttpServer

TOLERANCE = 300  # seconds


class MerchantReceiver(LocalHttpServer):
    def __init__(self):
        self.secrets: dict[str, str] = {}  # path → signing secret
        self.received: list[dict] = []
        self.events: list[dict] = []  # processed (verified, new) bodies, with "path"
        self.fail_next = 0
        self.clock = time.time
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self._listen(self._handler(), block_on_close=False)

    def expect(self, path: str, secret: str) -> None:
        self.secrets[path] = secret

    def at(self, path: str) -> str:
        return self.url + path

    def to(self, path: str) -> list[dict]:
        return [r for r in self.received if r["path"] == path]

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet tests
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with fake._lock:
                    status = fake._receive(self.path, {name.title(): value for name, value
                                                       in self.headers.items()}, raw)
                answer = json.dumps({"ok": 200 <= status < 300}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        return Handler

    def _receive(self, path: str, headers: dict, raw: bytes) -> int:
        secret = self.secrets.get(path, "")
        timestamp = headers.get("X-Duka-Timestamp", "")
        signed = timestamp.encode() + b"." + raw
        expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        verified = bool(secret) and hmac.compare_digest(
            expected, headers.get("X-Duka-Signature", ""))
        fresh = timestamp.isdecimal() and abs(self.clock() - int(timestamp)) <= TOLERANCE
        record = {"path": path, "headers": headers, "raw": raw, "verified": verified,
                  "fresh": fresh}
        self.received.append(record)
        if self.fail_next > 0:
            self.fail_next -= 1
            record["status"] = 500
        elif not (verified and fresh):
            record["status"] = 401
        else:
            record["status"] = 200
            delivery = headers.get("X-Duka-Delivery", "")
            if delivery not in self._seen:
                self._seen.add(delivery)
                self.events.append({"path": path, **json.loads(raw)})
        return record["status"]
