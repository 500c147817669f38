"""A local stand-in for Twilio's Messages REST API, and builders for Twilio's webhooks.

POST /2010-04-01/Accounts/{AccountSid}/Messages.json, form-encoded (To, From, Body, MediaUrl,
ContentSid, ContentVariables, StatusCallback, ...), HTTP basic auth AccountSid:AuthToken;
answers 201 with the Message resource JSON, or Twilio's error JSON
``{"code", "message", "more_info", "status"}``.

The webhook builders give the form fields Twilio documents for an inbound SMS, an inbound
WhatsApp message and a status callback; ``sign`` computes X-Twilio-Signature from Twilio's
published algorithm, independently of the SDK's validator that the app uses.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from datetime import datetime, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs

import phonenumbers

from tests.fakes.server import LocalHttpServer

API_VERSION = "2010-04-01"
ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "test-auth-token"
GSM7 = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMN"
           "OPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€")


def new_sid(prefix: str = "SM") -> str:
    return prefix + uuid.uuid4().hex  # 34 characters, like Twilio's


def num_segments(body: str) -> int:
    """SMS parts: 160/153 GSM-7, else 70/67 UCS-2 (Twilio reports this as a string)."""
    single, part = (160, 153) if set(body) <= GSM7 else (70, 67)
    if len(body) <= single:
        return 1
    return -(-len(body) // part)


def _error(status: int, code: int, message: str) -> dict:
    return {"code": code, "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}


class FakeTwilio(LocalHttpServer):
    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN):
        self.account_sid = account_sid
        self.auth_token = auth_token
        # accepted sends: the form fields (MediaUrl always a list) and the "sid" we answered
        self.messages: list[dict] = []
        self.attempts = 0  # every request, accepted or not
        self.hang_seconds = 3.0  # how long hang_next sleeps: longer than the tests' timeout
        self._lock = threading.Lock()
        self.reset()
        # block_on_close=False: stop() must not wait out a hanging request
        self._listen(self._handler(), block_on_close=False)

    def reset(self) -> None:
        with self._lock:
            self.messages.clear()
            self.attempts = 0
            self.fail_next = 0  # answer this many requests with HTTP 500
            self.hang_next = 0  # sleep through this many requests, then drop them unrecorded
            self.error_next: tuple[int, int, str] | None = None  # (http status, code, message)

    def _answer(self, path: str, authorization: str, form: dict[str, list[str]]):
        """(status, body) for one request; called under the lock."""
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if authorization != f"Basic {expected}":
            return 401, _error(401, 20003, "Authenticate")
        if path != f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json":
            return 404, _error(404, 20404, f"The requested resource {path} was not found")
        if self.fail_next > 0:
            self.fail_next -= 1
            return 500, _error(500, 20500, "Internal Server Error")
        if self.error_next:
            (status, code, message), self.error_next = self.error_next, None
            return status, _error(status, code, message)
        fields = {name: values[0] for name, values in form.items()}
        fields["MediaUrl"] = form.get("MediaUrl", [])
        to, from_ = fields.get("To", ""), fields.get("From", "")
        if not to:
            return 400, _error(400, 21604, "A 'To' phone number is required.")
        if not from_ and not fields.get("MessagingServiceSid"):
            return 400, _error(400, 21603, "A 'From' phone number is required.")
        if to.startswith("whatsapp:") != from_.startswith("whatsapp:"):
            return 400, _error(400, 21910, "Invalid 'From' and 'To' pair. 'From' and 'To' "
                                           "should be of the same channel")
        if not (fields.get("Body") or fields["MediaUrl"] or fields.get("ContentSid")):
            return 400, _error(400, 21602, "Message body is required.")
        resource = self._resource(fields)
        self.messages.append({**fields, "sid": resource["sid"]})
        return 201, resource

    def _resource(self, fields: dict) -> dict:
        sid = new_sid("MM" if fields["MediaUrl"] else "SM")
        now = format_datetime(datetime.now(timezone.utc))  # RFC 2822, "+0000"
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}"
        body = fields.get("Body", "")
        return {
            "account_sid": self.account_sid, "api_version": API_VERSION, "body": body,
            "date_created": now, "date_updated": now, "date_sent": None,
            "direction": "outbound-api", "error_code": None, "error_message": None,
            "from": fields.get("From"), "to": fields["To"],
            "messaging_service_sid": fields.get("MessagingServiceSid"),
            "num_media": str(len(fields["MediaUrl"])),
            "num_segments": str(num_segments(body)) if body else "1",
            "price": None, "price_unit": "USD", "sid": sid, "status": "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"}, "uri": f"{uri}.json",
        }

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
                with fake._lock:
                    fake.attempts += 1
                    hang = fake.hang_next > 0
                    if hang:
                        fake.hang_next -= 1
                    else:
                        status, body = fake._answer(
                            self.path, self.headers.get("Authorization", ""), form)
                if hang:  # outside the lock: other requests go on meanwhile
                    time.sleep(fake.hang_seconds)
                    self.close_connection = True
                    return
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def sign(auth_token: str, url: str, params: dict) -> str:
    """X-Twilio-Signature as Twilio documents it: the full URL, then every parameter name
    followed by its value, names sorted; HMAC-SHA1 keyed by the auth token; base64.
    A value may be a list (a repeated field): its values are appended sorted."""
    data = url
    for name in sorted(params):
        values = params[name] if isinstance(params[name], (list, tuple)) else [params[name]]
        for value in sorted(values):
            data += name + value
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _country(number: str) -> str:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(number)) or ""
    except phonenumbers.NumberParseException:
        return ""


def _common(sid: str | None, from_: str, to: str, body: str, account_sid: str) -> dict:
    sid = sid or new_sid()
    return {
        "AccountSid": account_sid, "ApiVersion": API_VERSION, "Body": body,
        "From": from_, "To": to, "MessageSid": sid, "SmsMessageSid": sid, "SmsSid": sid,
        "SmsStatus": "received", "NumMedia": "0", "NumSegments": "1",
    }


def inbound_sms(from_: str, to: str, body: str, sid: str | None = None,
                account_sid: str = ACCOUNT_SID) -> dict:
    """Twilio's webhook for an SMS from ``from_`` (E.164) to our number ``to``. Twilio sends
    the geographic fields empty when it does not know them."""
    form = _common(sid, from_, to, body, account_sid)
    form.update(FromCountry=_country(from_), FromCity="", FromState="", FromZip="",
                ToCountry=_country(to), ToCity="", ToState="", ToZip="",
                NumSegments=str(num_segments(body)))
    return form


def inbound_whatsapp(from_: str, to: str, body: str, sid: str | None = None,
                     profile_name: str = "Wanjiku", button_payload: str | None = None,
                     account_sid: str = ACCOUNT_SID) -> dict:
    """Twilio's webhook for a WhatsApp message; ``from_``/``to`` are E.164, the prefix is
    added here. With ``button_payload``, a tap on a quick-reply button titled ``body``."""
    bare = from_.removeprefix("whatsapp:")
    form = _common(sid, "whatsapp:" + bare, "whatsapp:" + to.removeprefix("whatsapp:"), body,
                   account_sid)
    form.update(ProfileName=profile_name, WaId=bare.lstrip("+"), ReferralNumMedia="0")
    if button_payload is not None:
        form.update(ButtonPayload=button_payload, ButtonText=body)
    return form


def status_callback(sid: str, status: str, error_code: int | str | None = None, *,
                    from_: str = "+15005550006", to: str = "+254712345678",
                    account_sid: str = ACCOUNT_SID) -> dict:
    """Twilio's status callback for a message we sent: a subset of the inbound fields plus
    MessageStatus (and ErrorCode when the message failed)."""
    form = {"AccountSid": account_sid, "ApiVersion": API_VERSION, "From": from_, "To": to,
            "MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status}
    if error_code is not None:
        form["ErrorCode"] = str(error_code)
    return form
