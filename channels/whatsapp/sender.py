"""Outbound WhatsApp through the Cloud API, built and sent by heyoo 0.1.2.

heyoo lacks what a sender needs: its Graph version is hard-coded (v14.0), it sets no timeout,
and on an error it logs and returns the answer (or crashes on a non-JSON one). So its client is
subclassed to take our base URL, and its HTTP calls go through ``_Http``: one ``requests``
session per thread, a timeout on every call, and an exception for every failed answer.

How the calls are routed: heyoo's methods call the module-level name ``requests.post``. Setting
``heyoo.requests`` would change it for every thread and every other heyoo user in the process.
Instead each client gets its own copies of the heyoo methods it uses, identical code whose
global namespace is heyoo's own except that ``requests`` names this client's ``_Http``. Nothing
global changes, and heyoo still builds every request body.
"""
from __future__ import annotations

import logging
import threading
import types

import heyoo
import requests

from channels.messages import MessageNotSent, MessageRejected

log = logging.getLogger(__name__)

# Graph error codes (developers.facebook.com .../whatsapp/support/error-codes) that a later try
# can get past. Throttling: 4 app call limit, 80007 WABA rate limit, 130429 throughput,
# 131048 spam rate limit, 131056 pair rate limit. Temporary: 1 unknown/possible server error,
# 2 service temporarily down, 131000 "something went wrong, try again", 131016 service
# unavailable, 131057 account in maintenance mode. Every other 4xx Graph error is final
# (131047 outside the 24 h window, 131026 undeliverable, 100 invalid parameter, 190 token).
THROTTLED = {4, 80007, 130429, 131048, 131056}
TEMPORARY = {1, 2, 131000, 131016, 131057}
_ROUTED = ("send_message", "send_reply_button", "send_button", "send_image", "send_template")


def _failed(text: str, code: int | None, retry: bool) -> Exception:
    error = (MessageNotSent if retry else MessageRejected)(text)
    error.code = code  # the Graph error code; the HTTP status when the answer had none
    return error


def _failure(response: requests.Response) -> Exception:
    """The exception a non-2xx Graph answer stands for."""
    try:
        error = response.json().get("error") or {}
        code = int(error["code"])
    except (ValueError, AttributeError, KeyError, TypeError):  # not a Graph error body
        retry = response.status_code >= 500 or response.status_code in (408, 429)
        return _failed(f"WhatsApp answered HTTP {response.status_code}: "
                       f"{response.text[:200]}", response.status_code, retry)
    data = error.get("error_data")
    details = data.get("details") if isinstance(data, dict) else None
    message = str(error.get("message", ""))
    text = f"WhatsApp error {code}: {message}" + (
        f" ({details})" if details and details not in message else "")
    retry = (code in THROTTLED or code in TEMPORARY or response.status_code >= 500
             or response.status_code == 429)
    return _failed(text, code, retry)


class _Http:
    """What heyoo's methods see as ``requests``."""

    def __init__(self, session: requests.Session, timeout: float):
        self.session = session
        self.timeout = timeout

    def post(self, url: str, **kwargs) -> requests.Response:
        try:
            response = self.session.post(url, timeout=self.timeout, **kwargs)
        except requests.Timeout as error:
            raise _failed(f"WhatsApp did not answer in {self.timeout} s", None, True) from error
        except requests.RequestException as error:  # refused, reset, DNS, TLS, ...
            raise _failed(f"could not reach WhatsApp: {error}", None, True) from error
        if not 200 <= response.status_code < 300:
            raise _failure(response)
        return response


class _Client(heyoo.WhatsApp):
    """heyoo's client for one of our numbers, on ``base_url`` and ``http``."""

    def __init__(self, token: str, phone_number_id: str, base_url: str, http: _Http):
        super().__init__(token, phone_number_id)
        self.base_url = self.v15_base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/{phone_number_id}/messages"
        namespace = {**vars(heyoo), "requests": http}
        for name in _ROUTED:
            func = getattr(heyoo.WhatsApp, name)
            routed = types.FunctionType(func.__code__, namespace, func.__name__,
                                        func.__defaults__, func.__closure__)
            routed.__kwdefaults__ = func.__kwdefaults__
            setattr(self, name, types.MethodType(routed, self))


class CloudApiSender:
    """Sends content dicts; ``content["from"]`` is the phone-number id to send from."""

    provider = "whatsapp"

    def __init__(self, token: str, base_url: str, timeout: float = 10.0):
        self.token = token
        self.base_url = base_url
        self.timeout = timeout
        self._local = threading.local()  # a requests session is not shared between threads

    def _client(self, phone_number_id: str) -> _Client:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return _Client(self.token, phone_number_id, self.base_url, _Http(session, self.timeout))

    def send(self, to: str, content: dict) -> str:
        phone_number_id = str(content.get("from") or "")
        if not phone_number_id:
            raise _failed("no WhatsApp phone-number id to send from", None, False)
        client, recipient = self._client(phone_number_id), to.removeprefix("+")
        kind = content.get("type", "text")
        try:
            if kind == "text":
                answer = client.send_message(content["body"], recipient, preview_url=False)
            elif kind == "buttons":
                answer = client.send_reply_button(_buttons(content), recipient)
            elif kind == "list":  # heyoo's send_button sends an interactive *list*
                answer = client.send_button(_list(content), recipient)
            elif kind == "image":
                # heyoo always sends a caption; null (its own default) when there is none.
                answer = client.send_image(content["link"], recipient,
                                           caption=content.get("caption") or None)
            elif kind == "template":
                answer = client.send_template(content["name"], recipient,
                                              components=_components(content),
                                              lang=content["language"])
            else:
                raise _failed(f"cannot send {kind!r} content over WhatsApp", None, False)
        except ValueError as error:  # a 2xx answer that is not JSON
            raise _failed(f"unreadable answer from WhatsApp: {error}", None, True) from error
        try:
            message_id = answer["messages"][0]["id"]
        except (KeyError, IndexError, TypeError) as error:
            raise _failed(f"no message id in WhatsApp's answer: {answer}", None,
                          True) from error
        log.info("WhatsApp %s to %s accepted (%s)", kind, to, message_id)
        return str(message_id)


def _buttons(content: dict) -> dict:
    buttons = [{"type": "reply", "reply": {"id": b["id"], "title": b["title"]}}
               for b in content["buttons"]]
    return {"type": "button", "body": {"text": content["body"]}, "action": {"buttons": buttons}}


def _list(content: dict) -> dict:
    # heyoo's create_button adds "type": "list" and wraps the body; one untitled section
    # (a section title is required only when there are several).
    rows = [{"id": r["id"], "title": r["title"],
             **({"description": r["description"]} if r.get("description") else {})}
            for r in content["rows"]]
    return {"body": content["body"],
            "action": {"button": content["button"], "sections": [{"rows": rows}]}}


def _components(content: dict) -> list[dict]:
    params = content.get("params") or []
    if not params:
        return []
    return [{"type": "body", "parameters": [{"type": "text", "text": str(p)} for p in params]}]
