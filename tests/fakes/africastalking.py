"""A local stand-in for Africa's Talking's SMS API, speaking its documented wire format.

POST /version1/messaging, form fields ``username, to, message, bulkSMSMode[, from]``, header
``apiKey``; answers 201 with ``{"SMSMessageData": {"Message", "Recipients": [...]}}``.
"""
from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs

from tests.fakes.server import LocalHttpServer


class FakeAfricasTalking(LocalHttpServer):
    def __init__(self, username: str = "duka-test", api_key: str = "test-api-key"):
        self.username = username
        self.api_key = api_key
        self.messages: list[dict] = []  # accepted sends
        self.attempts = 0  # every request, accepted or not
        self.fail_next = 0  # answer this many requests with HTTP 500
        self.recipient_status = (101, "Success")  # what AT says about the recipient
        self._lock = threading.Lock()
        self._listen(self._handler())

    def reset(self) -> None:
        with self._lock:
            self.messages.clear()
            self.attempts = 0
            self.fail_next = 0
            self.recipient_status = (101, "Success")

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _send(self, status: int, body: str, content_type: str) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                with fake._lock:
                    fake.attempts += 1
                    if self.path != "/version1/messaging":
                        return self._send(404, "Not found", "text/plain")
                    if self.headers.get("apiKey") != fake.api_key or \
                            form.get("username") != fake.username:
                        return self._send(401, "The supplied authentication is invalid",
                                          "text/plain")
                    if fake.fail_next > 0:
                        fake.fail_next -= 1
                        return self._send(500, "Internal Server Error", "text/plain")
                    code, status = fake.recipient_status
                    if code in (100, 101, 102):
                        fake.messages.append(form)
                recipients = [
                    {"statusCode": code, "number": number, "status": status,
                     "cost": "KES 0.8000" if code == 101 else "0",
                     "messageId": f"ATXid_{uuid.uuid4().hex}" if code == 101 else "None"}
                    for number in form.get("to", "").split(",")
                ]
                body = {"SMSMessageData": {"Message": "Sent to 1/1 Total Cost: KES 0.8000",
                                           "Recipients": recipients}}
                self._send(201, json.dumps(body), "application/json")

        return Handler
