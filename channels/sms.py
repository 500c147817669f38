"""Outbound SMS through Africa's Talking's own SDK, or the log when no credentials are set."""
from __future__ import annotations

import json
import logging
from typing import Protocol

from africastalking.SMS import SMSService

log = logging.getLogger(__name__)

# Recipient statusCodes in AT's send response. 100-102 mean AT took the message; a retry
# cannot mend a bad or blacklisted number, but can outlast a gateway error or an empty balance.
ACCEPTED = {100, 101, 102}
PERMANENT = {403, 404, 406, 409}


class SmsNotSent(Exception):
    """A send that may work if tried again later."""


class SmsSender(Protocol):
    def send(self, to: str, message: str) -> None: ...


class _AtSmsService(SMSService):
    """The SDK's SMS service, pointed at ``base_url`` (a local fake in tests) when given."""

    def __init__(self, username: str, api_key: str, base_url: str | None):
        self._override_base_url = base_url.rstrip("/") if base_url else None
        super().__init__(username, api_key)

    def _init_service(self):
        super()._init_service()
        if self._override_base_url:
            self._baseUrl = self._override_base_url + "/version1"


class AfricasTalkingSms:
    def __init__(self, username: str, api_key: str, base_url: str | None = None,
                 sender_id: str | None = None):
        self.service = _AtSmsService(username, api_key, base_url)
        self.sender_id = sender_id

    def send(self, to: str, message: str) -> None:
        try:
            response = self.service.send(message, [to], sender_id=self.sender_id)
        except Exception as error:  # AfricasTalkingException, timeouts, connection errors
            raise SmsNotSent(f"Africa's Talking refused or failed: {error}") from error
        if isinstance(response, str):
            response = json.loads(response)
        recipients = response.get("SMSMessageData", {}).get("Recipients", [])
        if not recipients:
            raise SmsNotSent(f"no recipient in AT response: {response}")
        status = recipients[0]
        code = int(status.get("statusCode", 0))
        if code in ACCEPTED:
            log.info("SMS to %s accepted by Africa's Talking (%s)", to, status.get("messageId"))
        elif code in PERMANENT:
            log.error("SMS to %s rejected for good: %s (%s)", to, status.get("status"), code)
        else:
            raise SmsNotSent(f"SMS to {to} not sent: {status.get('status')} ({code})")


class LoggedSms:
    """The demo without AT credentials: write the message to the log, clearly not sent."""

    def send(self, to: str, message: str) -> None:
        log.warning("SMS NOT SENT (set AT_USERNAME and AT_API_KEY to send) to %s: %s",
                    to, message)
