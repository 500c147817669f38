"""Twilio's webhook wire format (SMS and WhatsApp), as pure functions: no Flask, no I/O.

The Flask views verify the signature over the *public* URL, parse the form into an
``Incoming`` or a ``DeliveryReport``, and answer ``empty_twiml()`` at once: the reply goes
out later through the REST API from a job, so Twilio's 15 s webhook budget is never at risk.
"""
from __future__ import annotations

from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from channels.messages import SMS, WHATSAPP, DeliveryReport, Incoming

PROVIDER = "twilio"
WHATSAPP_PREFIX = "whatsapp:"

# Twilio's MessageStatus values -> our STATUS_RANK keys. accepted/scheduled are the initial
# statuses of a message sent through a Messaging Service; canceled is a scheduled one dropped.
STATUS_MAP = {
    "queued": "queued", "accepted": "queued", "scheduled": "queued", "sending": "queued",
    "sent": "sent", "delivered": "delivered", "read": "read",
    "undelivered": "undelivered", "failed": "failed", "canceled": "failed",
}

# The form fields that carry what a person wrote (the rest are ids, numbers and codes).
LONG_FIELDS = ("Body", "ButtonText", "Address", "ErrorMessage")
# Incoming's fields by the names Twilio gives them, for a clear error.
WIRE_NAMES = {"message_id": "MessageSid", "sender": "From", "to": "To", "text": "Body",
              "choice": "ButtonPayload", "name": "ProfileName"}


class BadTwilioRequest(ValueError):
    """A webhook that lacks what every genuine Twilio request carries."""


def public_url(base: str, full_path: str) -> str:
    """The URL Twilio called (and signed), from the PUBLIC_BASE_URL setting and the request's
    path + query. Behind a proxy ``request.url`` says http:// while Twilio signed https://."""
    path = full_path
    if path.endswith("?") and path.count("?") == 1:
        path = path[:-1]  # Flask's request.full_path adds a bare "?"; Twilio signed none
    return base.rstrip("/") + "/" + path.lstrip("/")


def check_signature(auth_token: str, url: str, params, signature: str | None) -> bool:
    """True when ``signature`` (the X-Twilio-Signature header) is Twilio's for ``url`` and
    ``params``. Pass Flask's ``request.form`` itself: the validator reads every value of a
    repeated field through ``getlist``."""
    if not auth_token or not signature:
        return False
    return RequestValidator(auth_token).validate(url, params or {}, signature)


def _address(value: str) -> tuple[str, str]:
    """(channel, bare address) for a Twilio address such as ``whatsapp:+2547...``."""
    if value.startswith(WHATSAPP_PREFIX):
        return WHATSAPP, value[len(WHATSAPP_PREFIX):]
    return SMS, value


def _message_sid(form) -> str:
    # SmsSid is the deprecated duplicate of MessageSid, still sent for compatibility.
    return (form.get("MessageSid") or form.get("SmsSid") or "").strip()


def _raw(form) -> dict:
    return {key: form.get(key) for key in form}


def parse_inbound(form) -> Incoming:
    """One inbound SMS or WhatsApp message from the webhook's form fields."""
    message_id = _message_sid(form)
    if not message_id:
        raise BadTwilioRequest("Twilio inbound message without MessageSid")
    sender_address = (form.get("From") or "").strip()
    if not sender_address:
        raise BadTwilioRequest(f"Twilio inbound message {message_id} without From")
    channel, sender = _address(sender_address)
    _, to = _address((form.get("To") or "").strip())
    common = dict(provider=PROVIDER, channel=channel, message_id=message_id, sender=sender,
                  to=to, name=form.get("ProfileName") or "", raw=_raw(form))
    body = form.get("Body") or ""

    payload = form.get("ButtonPayload")
    if payload:  # a quick-reply / template button: the payload is the id we set
        return Incoming(kind="choice", choice=payload,
                        text=form.get("ButtonText") or body, **common)
    latitude, longitude = form.get("Latitude"), form.get("Longitude")
    if latitude and longitude:
        try:
            location = (float(latitude), float(longitude))
        except ValueError:
            raise BadTwilioRequest(
                f"Twilio message {message_id}: bad location {latitude!r}, {longitude!r}"
            ) from None
        return Incoming(kind="location", location=location, text=body, **common)
    if not body.strip() and _int(form.get("NumMedia")) > 0:
        return Incoming(kind="unsupported", **common)  # a photo, voice note, sticker...
    return Incoming(kind="text", text=body, **common)


def parse_status(form) -> DeliveryReport:
    """A status callback for a message we sent."""
    message_id = _message_sid(form)
    if not message_id:
        raise BadTwilioRequest("Twilio status callback without MessageSid")
    twilio_status = (form.get("MessageStatus") or "").strip().lower()
    if not twilio_status:
        raise BadTwilioRequest(f"Twilio status callback for {message_id} without MessageStatus")
    status = STATUS_MAP.get(twilio_status)
    if status is None:  # receiving/received are inbound statuses; nothing we sent is in them
        raise BadTwilioRequest(f"Twilio status callback for {message_id}: "
                               f"unexpected MessageStatus {twilio_status!r}")
    code, text = form.get("ErrorCode") or "", form.get("ErrorMessage") or ""
    error = f"{code}: {text}" if code and text else code or text
    return DeliveryReport(provider=PROVIDER, message_id=message_id, status=status, error=error)


def empty_twiml() -> str:
    """The answer to every webhook: no reply from TwiML (replies go out through the API)."""
    return str(MessagingResponse())


def _int(value) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0
