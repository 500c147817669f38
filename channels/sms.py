"""Outbound SMS through Africa's Talking's own SDK, or the log when no credentials are set."""
from __future__ import annotations

import json
import logging

from africastalking.SMS import SMSService

from channels.messages import MessageNotSent, MessageRejected

log = logging.getLogger(__name__)

# Recipient statusCodes in AT's send response. 100-102 mean AT took the message; a retry
# cannot mend a bad or blacklisted number, but can outlast a gateway error or an empty balance.
ACCEPTED = {100, 101, 102}
PERMANENT = {403, 404, 406, 409}


class _AtSmsService(SMSService):
    """The SDK's SMS service, pointed at ``base_url`` (a local fake in tests) when given."""

    def __init__(self, username: str, api_key: str, base_url: str | None):
        self._override_base_url = base_url.rstrip("/") if base_url else None
        super().__init__(username, api_key)

    def _init_service(self):
        super()._init_service()
        if self._override_base_url:
            self._baseUrl = self._override_base_url + "/version1"


def text_of(content: dict) -> str:
    """What an SMS can carry of any content: its text (a template's filled-in body, a
    picture's caption and link, a list's rows numbered)."""
    kind = content.get("type", "text")
    if kind == "image":
        return " ".join(part for part in (content.get("caption", ""), content["link"]) if part)
    text = content.get("body", "")
    options = content.get("buttons") or content.get("rows") or []
    lines = [f"{n}. {option['title']}" for n, option in enumerate(options, 1)]
    return "\n".join([text, *lines]) if lines else text


class AfricasTalkingSms:
    provider = "africastalking"

    def __init__(self, username: str, api_key: str, base_url: str | None = None,
                 sender_id: str | None = None, timeout: float = 10.0):
        self.service = _AtSmsService(username, api_key, base_url)
        self.sender_id = sender_id
        self.timeout = timeout

    def send(self, to: str, content: dict) -> str:
        # A reply goes out from the short code it answers; otherwise from our sender id.
        sender = content.get("from") or self.sender_id
        try:
            response = self.service.send(text_of(content), [to], sender_id=sender,
                                         timeout=(3.05, self.timeout))
        except ValueError as error:  # the SDK refuses a number that is not E.164
            raise MessageRejected(f"not a number Africa's Talking can send to: {to}") from error
        except Exception as error:  # AfricasTalkingException, timeouts, connection errors
            raise MessageNotSent(f"Africa's Talking refused or failed: {error}") from error
        if isinstance(response, str):
            try:
                response = json.loads(response)
            except ValueError as error:
                raise MessageNotSent(f"unreadable answer from AT: {response[:200]}") from error
        recipients = response.get("SMSMessageData", {}).get("Recipients", [])
        if not recipients:
            raise MessageNotSent(f"no recipient in AT response: {response}")
        status = recipients[0]
        code = int(status.get("statusCode", 0))
        if code in ACCEPTED:
            log.info("SMS to %s accepted by Africa's Talking (%s)", to, status.get("messageId"))
            return str(status.get("messageId", ""))
        if code in PERMANENT:
            raise MessageRejected(f"SMS to {to} rejected: {status.get('status')} ({code})")
        raise MessageNotSent(f"SMS to {to} not sent: {status.get('status')} ({code})")


class LoggedSms:
    """The demo without SMS credentials: write the message to the log, clearly not sent."""

    provider = "log"

    def send(self, to: str, content: dict) -> str:
        log.warning("SMS NOT SENT (set AT_USERNAME and AT_API_KEY to send) to %s: %s",
                    to, text_of(content))
        return ""
