"""Outbound SMS and WhatsApp through Twilio's own SDK (``client.messages.create``).

Twilio's Messages API has no interactive buttons or lists (those need Content templates), so
``buttons`` and ``list`` content goes out as numbered text; templates go out by ContentSid.
"""
from __future__ import annotations

import json
import logging

import requests
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from channels.messages import MessageNotSent, MessageRejected

log = logging.getLogger(__name__)

TWILIO_API_URL = "https://api.twilio.com"
WHATSAPP_PREFIX = "whatsapp:"


class TwilioRejected(MessageRejected):
    """Twilio refused the message for good; ``code`` is Twilio's error code (0: refused here,
    before calling Twilio)."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


class _HttpClient(TwilioHttpClient):
    """The SDK's HTTP client, with a timeout on every call and ``https://api.twilio.com``
    rewritten to ``api_url`` (TWILIO_API_URL: a local fake in tests)."""

    def __init__(self, api_url: str, timeout: float):
        super().__init__(timeout=timeout)
        self.api_url = api_url.rstrip("/")

    def request(self, method, url, *args, **kwargs):
        if url.startswith(TWILIO_API_URL + "/"):
            url = self.api_url + url[len(TWILIO_API_URL):]
        return super().request(method, url, *args, **kwargs)


class TwilioSender:
    provider = "twilio"

    def __init__(self, account_sid: str, auth_token: str, api_url: str | None = None,
                 timeout: float = 10.0, status_callback: str | None = None):
        self.status_callback = status_callback
        self.client = Client(account_sid, auth_token,
                             http_client=_HttpClient(api_url or TWILIO_API_URL, timeout))
        # The SDK reads TWILIO_EDGE / TWILIO_REGION from os.environ and would then call
        # api.<edge>.<region>.twilio.com, past TWILIO_API_URL; the base URL is the one setting.
        self.client.edge = self.client.region = None

    def send(self, to: str, content: dict) -> str:
        args = self._arguments(to, content)
        try:
            message = self.client.messages.create(**args)
        except (requests.Timeout, requests.ConnectionError) as error:
            raise MessageNotSent(f"Twilio unreachable sending to {to}: {error}") from error
        except TwilioException as error:  # TwilioRestException and RFC 9457 service errors
            raise _classify(error, to) from error
        log.info("Twilio accepted message %s to %s (%s)", message.sid, to, message.status)
        return message.sid

    def _arguments(self, to: str, content: dict) -> dict:
        sender = content.get("from") or ""
        if not sender:
            raise TwilioRejected("Twilio send without a 'from' number in the content", 0)
        if sender.startswith(WHATSAPP_PREFIX) and not to.startswith(WHATSAPP_PREFIX):
            to = WHATSAPP_PREFIX + to  # Twilio refuses an SMS-to-WhatsApp pair (21910)
        args = {"to": to, "from_": sender}
        if self.status_callback:
            args["status_callback"] = self.status_callback
        kind = content.get("type", "text")
        if kind == "text":
            args["body"] = content.get("body", "")  # empty: Twilio refuses it (21602)
        elif kind == "image":
            args["media_url"] = [content.get("link", "")]
            if content.get("caption"):
                args["body"] = content["caption"]
        elif kind == "template":
            # Outside WhatsApp's 24 h window only a ContentSid send works (Body fails: 63016).
            args["content_sid"] = content["name"]
            params = content.get("params") or []
            if params:
                args["content_variables"] = json.dumps(
                    {str(n): value for n, value in enumerate(params, start=1)})
        elif kind in ("buttons", "list"):
            args["body"] = numbered_text(content)
        else:
            raise TwilioRejected(f"content type {kind!r} cannot be sent through Twilio", 0)
        return args


def numbered_text(content: dict) -> str:
    """A buttons/list message as text the shopper answers by number."""
    options = content.get("buttons") or content.get("rows") or []
    lines = [content.get("body", "")]
    lines += [f"{n}. {option['title']}" for n, option in enumerate(options, start=1)]
    return "\n".join(line for line in lines if line)


def _classify(error: TwilioException, to: str) -> Exception:
    status = getattr(error, "status", None) or 0
    code = getattr(error, "code", None) or status
    detail = getattr(error, "msg", None) or getattr(error, "detail", None) or str(error)
    text = f"Twilio error {code} sending to {to}: {detail}"
    if status == 429 or status >= 500 or not status:  # rate limit, Twilio's side, or unknown
        return MessageNotSent(text)
    return TwilioRejected(text, int(code))
